package webapi

import (
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
	f, fl := decodeForm(r, rq.lim.body)
	if fl != nil {
		a.fail(w, fl)
		return
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
	if h == nil { // the route table no longer has this file operation
		a.fail(w, &failure{status: http.StatusNotFound, errs: []apiError{{codeNotFound, "file operation " + opName + " is not available"}}})
		return
	}
	if fid := f.get("fileId"); fid != "" {
		r.SetPathValue("fileId", fid)
	}
	rq.chatID = f.get("chatId")
	a.runByKey(rq, h)
}
