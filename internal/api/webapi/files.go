package webapi

import (
	"net/http"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/kv"
)

// The four file operations answer as a node with customer file transfer
// switched off: the limits say no upload is allowed, an upload is refused
// with error 201 (advice: the maximum number of files, 0), and no file id
// exists to download or delete. The file-transfer issue replaces these.

// transferOff are the file limits of a chat whose customer may not upload.
// Values are strings, as the reference sends them.
func transferOff() kv.Map {
	return kv.Map{
		"upload-max-files":           "0",
		"upload-max-file-size":       "0",
		"upload-max-total-size":      "0",
		"upload-need-agent":          "true",
		"upload-file-types":          "",
		"used-upload-max-files":      "0",
		"used-upload-max-total-size": "0",
		"download-attempts":          "0",
		"used-download-attempts":     "0",
		"delete-file":                "false",
	}
}

// opFileLimits answers the common body whose messages hold one Notice from
// the system (index 0: it is not a transcript event) with the limits in its
// userData.
func opFileLimits(a *API, rq *request) {
	evbuf := a.getEvents()
	st := newStream(rq.sess, rq.me.UserID, maxPosition, 0, rq.me.Left, *evbuf)
	bt, err := st.read()
	b := &body{}
	if err == nil {
		a.fill(b, rq, bt)
	}
	b.events = []chat.Event{{
		Pos: -1, Kind: chat.Notice, Notice: chat.CustomNotice, Time: a.clock.Now(),
		From: chat.Party{Nick: "system", Type: chat.System}, UserData: transferOff(),
	}}
	a.send(rq.w, b)
	*evbuf = st.buffer()
	a.putEvents(evbuf)
}

func opFileUpload(a *API, rq *request) {
	a.fail(rq.w, &failure{status: http.StatusBadRequest, errs: []apiError{{codeTooManyFiles, "0"}}})
}

func opFileDownload(a *API, rq *request) { noSuchFile(a, rq) }

func opFileDelete(a *API, rq *request) { noSuchFile(a, rq) }

func noSuchFile(a *API, rq *request) {
	a.fail(rq.w, invalid("fileId", "no such file in this chat"))
}
