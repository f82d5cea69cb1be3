package webapi_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/confab/confab/client/chatv2"
	"github.com/confab/confab/internal/api/webapi"
	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/config"
	"github.com/confab/confab/internal/store"
	"github.com/confab/confab/internal/store/sqlite"
)

// openStore opens a real SQLite store in a temporary directory.
func openStore(t testing.TB) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close(context.Background()) })
	return st
}

// fileHarness is the adapter alone with a store, its body reads counted.
type fileHarness struct {
	*harness
	st   *sqlite.Store
	read atomic.Int64 // bytes handlers read from request bodies
}

func startFiles(t *testing.T, ini string) *fileHarness {
	t.Helper()
	cfg := configWith(t, ini)
	fh := &fileHarness{st: openStore(t)}
	h := &harness{t: t}
	h.cfg.Store(cfg)
	clk := clock.Real()
	h.engine = chat.New(chat.Options{Clock: clk, Settings: chat.Settings{ClosedGrace: cfg.Settings.ClosedSessionGrace, SessionLimit: 1 << 30}})
	h.api = webapi.New(webapi.Options{Engine: h.engine, Config: h.cfg.Load, Clock: clk, Log: quietLog(), Files: fh.st})
	mux := http.NewServeMux()
	h.api.Register(mux)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = &countingBody{ReadCloser: r.Body, n: &fh.read}
		mux.ServeHTTP(w, r)
	}))
	h.base = ts.URL + "/genesys/2/chat"
	h.client = chatv2.New(h.base, chatv2.Options{})
	t.Cleanup(func() {
		h.client.CloseIdleConnections()
		h.api.Shutdown(context.Background())
		ts.Close()
	})
	fh.harness = h
	return fh
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// upload posts a file with the session fields before it (or after it
// when fieldsLast) and returns the status and answer.
func (fh *fileHarness) upload(c *chatv2.Chat, name string, content io.Reader, fieldsLast bool) (int, map[string]any) {
	fh.t.Helper()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		fields := func() {
			mw.WriteField("userId", c.UserID)
			mw.WriteField("secureKey", c.SecureKey)
			mw.WriteField("alias", c.Alias())
		}
		if !fieldsLast {
			fields()
		}
		fw, err := mw.CreateFormFile("file", name)
		if err == nil {
			_, err = io.Copy(fw, content)
		}
		if err == nil && fieldsLast {
			fields()
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	req, _ := http.NewRequest(http.MethodPost, fh.base+"/customer-support/"+c.ID+"/file", pr)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := fh.client.HTTPClient().Do(req)
	pr.CloseWithError(io.ErrClosedPipe) // stop the writer if the server stopped reading
	if err != nil {
		fh.t.Fatalf("upload %s: %v", name, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, decode(fh.t, b)
}

func (fh *fileHarness) download(c *chatv2.Chat, fileID string) (*http.Response, []byte) {
	fh.t.Helper()
	ctype, body := multipartBody(fh.t, [][2]string{{"userId", c.UserID}, {"secureKey", c.SecureKey}, {"alias", c.Alias()}})
	req, _ := http.NewRequest(http.MethodPost, fh.base+"/customer-support/"+c.ID+"/file/"+fileID+"/download", strings.NewReader(body))
	req.Header.Set("Content-Type", ctype)
	resp, err := fh.client.HTTPClient().Do(req)
	if err != nil {
		fh.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func errCode(m map[string]any) string {
	errs, _ := m["errors"].([]any)
	if len(errs) == 0 {
		return ""
	}
	e := errs[0].(map[string]any)
	return fmt.Sprintf("%v %v", e["code"], e["advice"])
}

func (fh *fileHarness) docCount() int64 {
	st, err := fh.st.DocumentStats(context.Background())
	if err != nil {
		fh.t.Fatal(err)
	}
	return st.Count
}

// TestUploadLimits checks every customer limit at its boundary: a refused
// upload answers its documented code and stores nothing.
func TestUploadLimits(t *testing.T) {
	fh := startFiles(t, "[client-file-transfer]\nupload-max-files = 3\nupload-max-file-size = 1000\nupload-max-total-size = 2500\nupload-file-types = txt:png\n")
	ctx := ctxT(t)
	c, _, _ := fh.newChat(ctx, "Ann")
	steps := []struct {
		name       string
		size       int
		fieldsLast bool
		want       string // "" = accepted, else "code advice"
	}{
		{"over.txt", 1001, false, "202 1000"}, // one byte over the file size
		{"over2.txt", 1001, true, "202 1000"}, // the same with the fields after the file
		{"bad.exe", 10, false, "203 txt:png"}, // type not allowed
		{"noext", 10, false, "203 txt:png"},   // no extension at all
		{"exact.txt", 1000, false, ""},        // exactly the size
		{"IMAGE.PNG", 1000, true, ""},         // extension case ignored, fields last
		{"rest.txt", 501, false, "202 2500"},  // total: 500 left, one byte over
		{"rest.txt", 500, false, ""},          // exactly the total
		{"fourth.txt", 1, false, "201 3"},     // one file too many
	}
	for _, s := range steps {
		before := fh.docCount()
		status, m := fh.upload(c, s.name, bytes.NewReader(bytes.Repeat([]byte("a"), s.size)), s.fieldsLast)
		got := errCode(m)
		if s.want == "" {
			if status != 200 || got != "" || m["statusCode"] != 0.0 {
				t.Fatalf("%s (%d bytes): HTTP %d %v", s.name, s.size, status, m)
			}
			if fh.docCount() != before+1 {
				t.Fatalf("%s: accepted but not stored", s.name)
			}
			continue
		}
		if status != http.StatusBadRequest || got != s.want {
			t.Fatalf("%s (%d bytes): HTTP %d %q, want 400 %q", s.name, s.size, status, got, s.want)
		}
		if n := fh.docCount(); n != before {
			t.Fatalf("%s: a refused upload left %d documents (had %d)", s.name, n, before)
		}
	}
}

func TestUploadNeedsAgent(t *testing.T) {
	fh := startFiles(t, "[client-file-transfer]\nupload-need-agent = true\n")
	ctx := ctxT(t)
	c, _, err := fh.client.RequestChat(ctx, "customer-support", chatv2.ChatRequest{Nickname: "Ann"})
	if err != nil {
		t.Fatal(err)
	}
	status, m := fh.upload(c, "a.txt", strings.NewReader("hi"), false)
	if status != 400 || !strings.Contains(errCode(m), "upload-need-agent") || fh.docCount() != 0 {
		t.Fatalf("upload without an agent: HTTP %d %v, %d stored", status, m, fh.docCount())
	}
	s, _ := fh.engine.Get(c.ID)
	if _, _, err := s.Join(chat.JoinRequest{Nick: "Anna", Type: chat.Agent, Protocol: chat.Basic}); err != nil {
		t.Fatal(err)
	}
	if status, m := fh.upload(c, "a.txt", strings.NewReader("hi"), false); status != 200 {
		t.Fatalf("upload with an agent: HTTP %d %v", status, m)
	}
}

// TestUploadHugeRefusedEarly sends 200 MB against a 1 MB limit and checks,
// on the server side, that the handler read at most the limit plus a small
// buffer before it answered.
func TestUploadHugeRefusedEarly(t *testing.T) {
	const limit = 1 << 20
	fh := startFiles(t, fmt.Sprintf("[client-file-transfer]\nupload-max-file-size = %d\nupload-max-total-size = %d\nupload-need-agent = false\n", limit, 10*limit))
	ctx := ctxT(t)
	c, _, err := fh.client.RequestChat(ctx, "customer-support", chatv2.ChatRequest{Nickname: "Ann"})
	if err != nil {
		t.Fatal(err)
	}
	fh.read.Store(0)
	status, m := fh.upload(c, "huge.txt", io.LimitReader(zeroReader{}, 200<<20), false)
	read := fh.read.Load()
	t.Logf("200 MB upload, limit %d: the server read %d bytes of the body (limit + %d)", limit, read, read-limit)
	if status != 400 || errCode(m) != fmt.Sprintf("202 %d", limit) {
		t.Fatalf("HTTP %d %v", status, m)
	}
	if read > limit+64<<10 {
		t.Fatalf("the server read %d bytes of a 200 MB upload with a %d-byte limit", read, limit)
	}
	if fh.docCount() != 0 {
		t.Fatal("the refused upload was stored")
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// TestFileRoundTrip: the customer uploads, the agent sees the notice with
// the file's details, the customer downloads the same bytes until the
// attempts run out, and deletes it.
func TestFileRoundTrip(t *testing.T) {
	fh := startFiles(t, "[client-file-transfer]\ndownload-attempts = 2\nupload-max-file-size = 3000000\nupload-max-total-size = 3000000\n")
	ctx := ctxT(t)
	c, s, agent := fh.newChat(ctx, "Ann")
	other, _, _ := fh.newChat(ctx, "Bob")
	content := bytes.Repeat([]byte("0123456789abcdef"), 150000) // 2.4 MB: several chunks
	status, m := fh.upload(c, "report.pdf", bytes.NewReader(content), false)
	if status != 200 {
		t.Fatalf("upload: %d %v", status, m)
	}
	fileID := m["userData"].(map[string]any)["file-id"].(string)

	// The agent's view: a file-uploaded system command naming the file.
	evs, _, _, _ := s.Read(agent.UserID, 0, nil)
	last := evs[len(evs)-1]
	if last.Notice != chat.SysCommand || last.Text != "file-uploaded" || last.UserData.String("file-id") != fileID ||
		last.UserData.String("file-name") != "report.pdf" || last.UserData.String("file-size") != fmt.Sprint(len(content)) ||
		last.UserData.String("file-type") != "application/pdf" || last.UserData.String("file-document-id") == "" {
		t.Fatalf("the agent saw %+v", last)
	}
	doc, rc, err := fh.st.OpenDocument(ctx, last.UserData.String("file-document-id"))
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := io.ReadAll(rc)
	rc.Close()
	if sha256.Sum256(stored) != sha256.Sum256(content) || doc.Owner != c.UserID {
		t.Fatal("the stored document differs from the upload")
	}
	// The customer's view: FileUploaded with the same user data.
	resp, err := c.Refresh(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(resp.Messages[len(resp.Messages)-1])
	if !strings.Contains(string(raw), `"type":"FileUploaded"`) || !strings.Contains(string(raw), fileID) {
		t.Fatalf("the customer saw %s", raw)
	}

	for i := range 2 {
		resp, body := fh.download(c, fileID)
		if resp.StatusCode != 200 || sha256.Sum256(body) != sha256.Sum256(content) {
			t.Fatalf("download %d: HTTP %d, %d bytes", i+1, resp.StatusCode, len(body))
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/pdf" {
			t.Fatalf("Content-Type %q", ct)
		}
		disp, params, err := mime.ParseMediaType(resp.Header.Get("Content-Disposition"))
		if err != nil || disp != "attachment" || params["filename"] != "report.pdf" {
			t.Fatalf("Content-Disposition %q", resp.Header.Get("Content-Disposition"))
		}
	}
	resp3, body := fh.download(c, fileID)
	if resp3.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "download attempts") {
		t.Fatalf("third download with download-attempts = 2: HTTP %d %s", resp3.StatusCode, body)
	}

	// Unknown and foreign file ids get the same answer.
	unknown, ub := fh.download(c, "nope")
	foreign, fb := fh.download(other, fileID)
	if unknown.StatusCode != 404 || foreign.StatusCode != 404 || string(ub) != string(fb) {
		t.Fatalf("unknown: %d %s; foreign: %d %s", unknown.StatusCode, ub, foreign.StatusCode, fb)
	}

	ctype, form := multipartBody(t, [][2]string{{"userId", c.UserID}, {"secureKey", c.SecureKey}, {"alias", c.Alias()}})
	if status, got := fh.post("/customer-support/"+c.ID+"/file/"+fileID+"/delete", ctype, form); status != 200 {
		t.Fatalf("delete: HTTP %d %s", status, got)
	}
	evs, _, _, _ = s.Read(agent.UserID, 0, nil)
	if last := evs[len(evs)-1]; last.Text != "file-deleted" || last.UserData.String("file-id") != fileID {
		t.Fatalf("after delete the agent saw %+v", last)
	}
	if n := fh.docCount(); n != 0 {
		t.Fatalf("%d documents after delete", n)
	}
	if gone, _ := fh.download(c, fileID); gone.StatusCode != 404 {
		t.Fatalf("download after delete: HTTP %d", gone.StatusCode)
	}
	if status, _ := fh.post("/customer-support/"+c.ID+"/file/"+fileID+"/delete", ctype, form); status != 404 {
		t.Fatalf("second delete: HTTP %d", status)
	}
}

// TestDeleteOnlyOwnFiles: a customer may not delete a file an agent put in
// the chat.
func TestDeleteOnlyOwnFiles(t *testing.T) {
	fh := startFiles(t, "")
	ctx := ctxT(t)
	c, s, _ := fh.newChat(ctx, "Ann")
	if _, err := fh.st.PutDocument(ctx, store.Document{ID: "doc1", SessionID: s.ID(), FileID: "f1", Owner: "agent-7", Name: "terms.pdf"}, strings.NewReader("terms"), 100); err != nil {
		t.Fatal(err)
	}
	ctype, form := multipartBody(t, [][2]string{{"userId", c.UserID}, {"secureKey", c.SecureKey}, {"alias", c.Alias()}})
	if status, got := fh.post("/customer-support/"+c.ID+"/file/f1/delete", ctype, form); status != http.StatusForbidden {
		t.Fatalf("delete of an agent's file: HTTP %d %s", status, got)
	}
	if resp, body := fh.download(c, "f1"); resp.StatusCode != 200 || string(body) != "terms" {
		t.Fatalf("download of the agent's file: %d %q", resp.StatusCode, body)
	}
}

// TestUploadBadRequests: not multipart, no file, two files, bad keys.
func TestUploadBadRequests(t *testing.T) {
	fh := startFiles(t, "[client-file-transfer]\nupload-need-agent = false\n")
	ctx := ctxT(t)
	c, _, err := fh.client.RequestChat(ctx, "customer-support", chatv2.ChatRequest{Nickname: "Ann"})
	if err != nil {
		t.Fatal(err)
	}
	cr := [][2]string{{"userId", c.UserID}, {"secureKey", c.SecureKey}, {"alias", c.Alias()}}
	if status, got := fh.post("/customer-support/"+c.ID+"/file", formType, creds(c)); status != http.StatusBadRequest || !strings.Contains(string(got), "file: is required") {
		t.Fatalf("urlencoded upload: %d %s", status, got)
	}
	ctype, body := multipartBody(t, cr)
	if status, got := fh.post("/customer-support/"+c.ID+"/file", ctype, body); status != 400 || !strings.Contains(string(got), "file: is required") {
		t.Fatalf("no file part: %d %s", status, got)
	}
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, f := range cr {
		mw.WriteField(f[0], f[1])
	}
	for _, n := range []string{"a.txt", "b.txt"} {
		fw, _ := mw.CreateFormFile("file", n)
		io.WriteString(fw, "x")
	}
	mw.Close()
	if status, got := fh.post("/customer-support/"+c.ID+"/file", mw.FormDataContentType(), b.String()); status != 400 || !strings.Contains(string(got), "one file per upload") {
		t.Fatalf("two files: %d %s", status, got)
	}
	bad := fh.client.Resume("customer-support", c.ID, c.UserID, "wrong", c.Alias())
	status, m := fh.upload(bad, "a.txt", strings.NewReader("x"), false)
	if status != 200 || m["statusCode"] != 2.0 || !strings.Contains(errCode(m), "401") {
		t.Fatalf("bad key, fields first: %d %v", status, m)
	}
	status, m = fh.upload(bad, "a.txt", strings.NewReader("x"), true)
	if status != 200 || m["statusCode"] != 2.0 {
		t.Fatalf("bad key, fields last: %d %v", status, m)
	}
	if n := fh.docCount(); n != 0 {
		t.Fatalf("%d documents stored by refused uploads", n)
	}
}

var _ = config.Default

// TestUploadMislabelled: an upload whose multipart body is labelled
// form-urlencoded (as one client library does) is still streamed.
func TestUploadMislabelled(t *testing.T) {
	fh := startFiles(t, "[client-file-transfer]\nupload-need-agent = false\n")
	ctx := ctxT(t)
	c, _, err := fh.client.RequestChat(ctx, "customer-support", chatv2.ChatRequest{Nickname: "Ann"})
	if err != nil {
		t.Fatal(err)
	}
	_, body := multipartFile(t, [][2]string{{"userId", c.UserID}, {"secureKey", c.SecureKey}, {"alias", c.Alias()}}, "file", "a.txt", "hello")
	status, got := fh.post("/customer-support/"+c.ID+"/file", formType, body)
	if status != 200 || !strings.Contains(string(got), "file-id") || fh.docCount() != 1 {
		t.Fatalf("mislabelled upload: HTTP %d %s", status, got)
	}
}
