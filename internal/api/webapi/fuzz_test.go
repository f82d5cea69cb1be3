package webapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/confab/confab/internal/api/webapi"
	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/config"
)

// The handler fuzz targets send arbitrary bodies to each operation of a
// live chat, through the mux, without a network. The placeholders
// {userId}, {secureKey}, {alias} and {chatId} in a body are replaced by the
// chat's real values, so seeds (testdata/fuzz/Fuzz*) get past
// authentication and mutations explore the parameters behind it. Whatever
// the input, the answer must be JSON: HTTP 200 with statusCode, chatEnded
// and messages, or a 4xx with an errors array. Never a 5xx, never a panic.

// fuzzAPI is an API served in-process for fuzzing. It runs on the real
// clock with tiny timeouts so that long polls end at once and closed chats
// are purged while the fuzzer runs.
type fuzzAPI struct {
	mux    *http.ServeMux
	engine *chat.Engine
}

func newFuzzAPI(f *testing.F) *fuzzAPI {
	cfg := configWith(f, "[settings]\nflex-disconnect-timeout = 1\n")
	engine := chat.New(chat.Options{Settings: chat.Settings{ClosedGrace: time.Millisecond, SessionLimit: 1 << 30}})
	api := webapi.New(webapi.Options{
		Engine: engine, Config: func() *config.Config { return cfg }, Clock: clock.Real(), Log: quietLog(),
		MaxWait: time.Millisecond,
	})
	mux := http.NewServeMux()
	api.Register(mux)
	f.Cleanup(func() { api.Shutdown(context.Background()) })
	return &fuzzAPI{mux: mux, engine: engine}
}

// contentTypes are the encodings a fuzz input selects with its enc byte.
var contentTypes = [...]string{
	"application/x-www-form-urlencoded",
	"multipart/form-data; boundary=BOUNDARY",
	"text/plain",
	"",
}

func (fa *fuzzAPI) serve(method, target, ctype, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	rec := httptest.NewRecorder()
	fa.mux.ServeHTTP(rec, req)
	return rec
}

// newChat starts a chat through the API and returns its credentials.
func (fa *fuzzAPI) newChat(t *testing.T) map[string]string {
	rec := fa.serve(http.MethodPost, "/genesys/2/chat/customer-support", contentTypes[0], "nickname=Fuzz")
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil || rec.Code != 200 {
		t.Fatalf("request chat: %d %s", rec.Code, rec.Body)
	}
	return map[string]string{"{chatId}": m["chatId"].(string), "{userId}": m["userId"].(string),
		"{secureKey}": m["secureKey"].(string), "{alias}": m["alias"].(string)}
}

// end closes the chat so the engine purges it.
func (fa *fuzzAPI) end(ids map[string]string) {
	if s, err := fa.engine.Get(ids["{chatId}"]); err == nil {
		s.Close(chat.CloseRequest{Reason: chat.RemovedByServer})
	}
}

func fill(s string, ids map[string]string) string {
	for k, v := range ids {
		s = strings.ReplaceAll(s, k, v)
	}
	return s
}

// checkAnswer holds every answer to the contract.
func checkAnswer(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	if rec.Code != 200 && (rec.Code < 400 || rec.Code > 499) {
		t.Fatalf("HTTP %d: %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q: %s", ct, rec.Body)
	}
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatalf("answer is not a JSON object: %v: %s", err, rec.Body)
	}
	if rec.Code == 200 {
		sc, ok1 := m["statusCode"].(float64)
		_, ok2 := m["chatEnded"].(bool)
		_, ok3 := m["messages"].([]any)
		if !ok1 || !ok2 || !ok3 || sc < 0 || sc > 2 {
			t.Fatalf("HTTP 200 without statusCode, chatEnded and messages: %s", rec.Body)
		}
		return
	}
	errs, ok := m["errors"].([]any)
	if !ok || len(errs) == 0 {
		t.Fatalf("HTTP %d without errors: %s", rec.Code, rec.Body)
	}
	for _, e := range errs {
		item, _ := e.(map[string]any)
		if _, ok := item["code"].(float64); !ok {
			t.Fatalf("error item without a numeric code: %s", rec.Body)
		}
		if _, ok := item["advice"].(string); !ok {
			t.Fatalf("error item without advice: %s", rec.Body)
		}
	}
}

// fuzzOp fuzzes the body of one session operation.
func fuzzOp(f *testing.F, op string) {
	fa := newFuzzAPI(f)
	f.Add("userId={userId}&secureKey={secureKey}&alias={alias}", uint8(0))
	f.Fuzz(func(t *testing.T, body string, enc uint8) {
		ids := fa.newChat(t)
		defer fa.end(ids)
		rec := fa.serve(http.MethodPost, "/genesys/2/chat/customer-support/"+ids["{chatId}"]+"/"+op, contentTypes[enc%4], fill(body, ids))
		checkAnswer(t, rec)
	})
}

func FuzzSend(f *testing.F)           { fuzzOp(f, "send") }
func FuzzRefresh(f *testing.F)        { fuzzOp(f, "refresh") }
func FuzzStartTyping(f *testing.F)    { fuzzOp(f, "startTyping") }
func FuzzStopTyping(f *testing.F)     { fuzzOp(f, "stopTyping") }
func FuzzDisconnect(f *testing.F)     { fuzzOp(f, "disconnect") }
func FuzzCustomNotice(f *testing.F)   { fuzzOp(f, "customNotice") }
func FuzzPushURL(f *testing.F)        { fuzzOp(f, "pushUrl") }
func FuzzUpdateData(f *testing.F)     { fuzzOp(f, "updateData") }
func FuzzUpdateNickname(f *testing.F) { fuzzOp(f, "updateNickname") }
func FuzzReadReceipt(f *testing.F)    { fuzzOp(f, "readReceipt") }
func FuzzFileLimits(f *testing.F)     { fuzzOp(f, "file/limits") }
func FuzzFileUpload(f *testing.F)     { fuzzOp(f, "file") }

// fuzzFileOp fuzzes a file operation's fileId path segment and body.
func fuzzFileOp(f *testing.F, op string) {
	fa := newFuzzAPI(f)
	f.Add("f1", "userId={userId}&secureKey={secureKey}&alias={alias}", uint8(1))
	f.Fuzz(func(t *testing.T, fileID, body string, enc uint8) {
		ids := fa.newChat(t)
		defer fa.end(ids)
		target := "/genesys/2/chat/customer-support/" + ids["{chatId}"] + "/file/" + url.PathEscape(fileID) + "/" + op
		rec := fa.serve(http.MethodPost, target, contentTypes[enc%4], fill(body, ids))
		if !canonical(target) {
			// net/http's mux redirects a path with "//", "." or ".."
			// segments to its clean form before any handler runs.
			if rec.Code != http.StatusTemporaryRedirect && rec.Code != http.StatusMovedPermanently {
				t.Fatalf("non-canonical path %q: HTTP %d", target, rec.Code)
			}
			return
		}
		checkAnswer(t, rec)
	})
}

func FuzzFileDownload(f *testing.F) { fuzzFileOp(f, "download") }
func FuzzFileDelete(f *testing.F)   { fuzzFileOp(f, "delete") }

// canonical reports whether the mux serves p as it is rather than
// redirecting to its clean form.
func canonical(p string) bool {
	c := path.Clean(p)
	return c == p || c+"/" == p
}

// FuzzRequestChat fuzzes request chat's body, path (service name) and
// encoding.
func FuzzRequestChat(f *testing.F) {
	fa := newFuzzAPI(f)
	f.Add("svc", "nickname=Ann", uint8(0))
	f.Fuzz(func(t *testing.T, service, body string, enc uint8) {
		target := "/genesys/2/chat/" + url.PathEscape(service)
		rec := fa.serve(http.MethodPost, target, contentTypes[enc%4], body)
		if !canonical(target) {
			return // redirected by the mux, see fuzzFileOp
		}
		checkAnswer(t, rec)
		var m map[string]any
		json.Unmarshal(rec.Body.Bytes(), &m)
		if id, ok := m["chatId"].(string); ok {
			fa.end(map[string]string{"{chatId}": id})
		}
	})
}

// FuzzWebSocketQuery fuzzes the push channel's query string; a request
// that is not a WebSocket handshake must get a JSON 4xx.
func FuzzWebSocketQuery(f *testing.F) {
	fa := newFuzzAPI(f)
	f.Add("userId={userId}&secureKey={secureKey}&alias={alias}&transcriptPosition=1")
	f.Fuzz(func(t *testing.T, query string) {
		ids := fa.newChat(t)
		defer fa.end(ids)
		req := httptest.NewRequest(http.MethodGet, "/genesys/2/chat/customer-support/"+ids["{chatId}"]+"/ws", nil)
		req.URL.RawQuery = fill(query, ids)
		rec := httptest.NewRecorder()
		fa.mux.ServeHTTP(rec, req)
		checkAnswer(t, rec)
	})
}
