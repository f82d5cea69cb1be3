package webapi

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/confab/confab/internal/cors"
)

// basePath is where every Chat API v2 route hangs.
const basePath = "/genesys/2/chat/"

// sessionOps are the per-chat operations of the REST API, by the last path
// segment. Every one is a POST of session fields plus its own.
// charged marks the operations party-send-rate charges: they are refused
// before their body is read while the chat's customer is out of tokens.
var sessionOps = []struct {
	name    string
	op      op
	charged bool
}{
	{"send", opSend, true},
	{"refresh", opRefresh, false},
	{"startTyping", opStartTyping, true},
	{"stopTyping", opStopTyping, true},
	{"disconnect", opDisconnect, false},
	{"customNotice", opCustomNotice, true},
	{"pushUrl", opPushURL, true},
	{"updateData", opUpdateData, false},
	{"updateNickname", opUpdateNickname, true},
	{"readReceipt", opReadReceipt, true},
	{"file/limits", opFileLimits, false},
	{"file", nil, false}, // streamed: handleUpload decodes its own body
	{"file/{fileId}/download", opFileDownload, false},
	{"file/{fileId}/delete", opFileDelete, false},
}

// Register mounts every route of the API on mux:
//
//	POST    /genesys/2/chat/{serviceName}            request chat (also with a trailing slash)
//	POST    /genesys/2/chat/{serviceName}/{chatId}/… the session operations
//	GET     /genesys/2/chat/{serviceName}/{chatId}/ws the WebSocket push channel
//	OPTIONS /genesys/2/chat/…                        CORS preflight
//
// Anything else under /genesys/2/chat/ gets a JSON 404 or 405.
func (a *API) Register(mux *http.ServeMux) {
	mux.Handle("POST "+basePath+"{service}", a.cors(a.handleRequestChat))
	mux.Handle("POST "+basePath+"{service}/{$}", a.cors(a.handleRequestChat))
	for _, s := range sessionOps {
		if s.op == nil {
			mux.Handle("POST "+basePath+"{service}/{chatId}/"+s.name, a.cors(a.handleUpload))
			continue
		}
		mux.Handle("POST "+basePath+"{service}/{chatId}/"+s.name, a.cors(a.session(s.op, s.charged)))
	}
	mux.Handle("GET "+basePath+"{service}/{chatId}/ws", a.cors(a.handleWS))
	mux.Handle(basePath, a.cors(a.handleOther))
}

// cors lets browser widgets on other origins call the API, as the [cors]
// policy says (internal/cors): by default any origin without credentials,
// since the API's credentials travel in the form, not in cookies.
func (a *API) cors(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.corsPolicy.Apply(w.Header(), r)
		h(w, r)
	})
}

// handleOther answers what no route matched: CORS preflights, wrong
// methods and unknown paths, always with JSON.
func (a *API) handleOther(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodOptions {
		cors.AnswerPreflight(w) // a.cors has set the origin headers
		return
	}
	if knownPath(r.URL.Path) {
		w.Header().Set("Allow", "POST, OPTIONS")
		a.fail(w, &failure{status: http.StatusMethodNotAllowed, errs: []apiError{{codeInvalid,
			fmt.Sprintf("method %s is not allowed here; every Chat API v2 operation is a POST", r.Method)}}})
		return
	}
	a.fail(w, &failure{status: http.StatusNotFound, errs: []apiError{{codeNotFound, "no such Chat API v2 operation"}}})
}

// knownPath reports whether path names a route that exists for another
// method.
func knownPath(path string) bool {
	rest := strings.TrimPrefix(path, basePath)
	segs := strings.Split(strings.TrimSuffix(rest, "/"), "/")
	switch {
	case len(segs) == 1 && segs[0] != "":
		return true // request chat
	case len(segs) < 3 || segs[0] == "" || segs[1] == "":
		return false
	}
	op := strings.Join(segs[2:], "/")
	if op == "ws" {
		return true
	}
	for _, s := range sessionOps {
		if s.name == op || matchesFileOp(s.name, segs[2:]) {
			return true
		}
	}
	return false
}

func matchesFileOp(pattern string, segs []string) bool {
	ps := strings.Split(pattern, "/")
	if len(ps) != len(segs) {
		return false
	}
	for i, p := range ps {
		if !strings.HasPrefix(p, "{") && p != segs[i] {
			return false
		}
	}
	return true
}

// fail answers a refused request with its 4xx status and errors.
func (a *API) fail(w http.ResponseWriter, f *failure) {
	buf := a.getBuf()
	*buf = appendFailure(*buf, f)
	writeJSON(w, f.status, *buf)
	a.putBuf(buf)
}
