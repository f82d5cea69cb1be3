package webapi

import (
	"net/http"
)

// NotificationFilesPath is where CometD clients send file operations.
const NotificationFilesPath = "/genesys/2/chat-ntf"

// ntfOps map the operation field of /genesys/2/chat-ntf to the REST file
// operation (by its route name in sessionOps) that serves it.
var ntfOps = map[string]string{
	"fileGetLimits": "file/limits",
	"fileUpload":    "file",
	"fileDownload":  "file/{fileId}/download",
	"fileDelete":    "file/{fileId}/delete",
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
	route, ok := ntfOps[opName]
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
	if fid := f.get("fileId"); fid != "" {
		r.SetPathValue("fileId", fid)
	}
	rq.chatID = f.get("chatId")
	a.runByKey(rq, h)
}
