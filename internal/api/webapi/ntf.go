package webapi

import (
	"mime"
	"mime/multipart"
	"net/http"
)

// NotificationFilesPath is where CometD clients send file operations.
const NotificationFilesPath = "/genesys/2/chat-ntf"

// ntfRoute maps the operation field of /genesys/2/chat-ntf to the REST
// file operation (by its route name in sessionOps) that serves it.
func ntfRoute(operation string) (string, bool) {
	switch operation {
	case "fileGetLimits":
		return "file/limits", true
	case "fileUpload":
		return "file", true
	case "fileDownload":
		return "file/{fileId}/download", true
	case "fileDelete":
		return "file/{fileId}/delete", true
	}
	return "", false
}

// ServeNotificationFiles serves POST /genesys/2/chat-ntf, the file
// operations of CometD clients: a multipart (or form-urlencoded) body with
// operation (fileGetLimits, fileUpload, fileDownload, fileDelete),
// secureKey, fileId for download and delete, and the file part for upload.
// The session is found by secureKey as for every CometD call, and the
// operation is the REST one, so the answers are REST's. The caller (the
// CometD adapter) checks that the request comes from a live CometD client
// before calling it.
func (a *API) ServeNotificationFiles(w http.ResponseWriter, r *http.Request) {
	cfg := a.config()
	rq := &request{w: w, r: r, cfg: cfg, lim: limitsFor(cfg)}
	var f *form
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err == nil && mt == "multipart/form-data" {
		// Read the fields up to the file part only: an upload is streamed
		// into the store (files.go), never decoded whole.
		ur, _, fl := newUploadReader(r, rq.lim.body)
		var part *multipart.Part
		if fl == nil && ur == nil {
			fl = invalid("", "malformed multipart body")
		}
		if fl == nil {
			part, fl = ur.next()
		}
		if fl != nil {
			a.fail(w, fl)
			return
		}
		rq.form = ur.f
		if ur.f.get("operation") == "fileUpload" {
			rq.chatID = ur.f.get("chatId")
			// In a cluster the chat comes here first (keys_cometd.go): now
			// when the key came before the file, else once the rest is read.
			located := false
			locate := func(rq *request) *failure {
				if located {
					return nil
				}
				located = true
				return a.locateByKey(rq)
			}
			if ur.f.get("secureKey") != "" {
				if fl := locate(rq); fl != nil {
					a.fail(w, fl)
					return
				}
			}
			auth := func(rq *request) bool { return locate(rq) == nil && a.keyAuth(rq) }
			a.streamUpload(rq, ur, part, func(f *form) bool { return f.get("secureKey") != "" }, auth)
			return
		}
		if part != nil {
			a.fail(w, invalid("file", "a file part belongs to operation fileUpload only"))
			return
		}
		f = ur.f
	} else {
		var fl *failure
		if f, fl = decodeForm(r, rq.lim.body); fl != nil {
			a.fail(w, fl)
			return
		}
	}
	rq.form = f
	opName := f.get("operation")
	route, ok := ntfRoute(opName)
	if !ok {
		a.fail(w, invalid("operation", "must be fileGetLimits, fileUpload, fileDownload or fileDelete"))
		return
	}
	var h op
	for _, s := range sessionOps {
		if s.name == route {
			h = s.op
		}
	}
	if h == nil { // fileUpload in a body that is not multipart
		a.fail(w, invalid("file", "operation fileUpload needs a multipart/form-data body with the file"))
		return
	}
	if fid := f.get("fileId"); fid != "" {
		r.SetPathValue("fileId", fid)
	}
	rq.chatID = f.get("chatId")
	if fl := a.locateByKey(rq); fl != nil {
		a.fail(w, fl)
		return
	}
	a.runByKey(rq, h)
}
