package documents_test

import (
	"context"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/documents"
	"github.com/confab/confab/internal/store"
	"github.com/confab/confab/internal/store/sqlite"
)

func TestJanitorRetention(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(ctx)
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	clk := clock.NewFake(t0)
	for i, age := range []time.Duration{0, 90 * time.Minute, 3 * time.Hour} {
		id := string(rune('a' + i))
		if _, err := st.PutDocument(ctx, store.Document{ID: id, SessionID: "S", CreatedAt: t0.Add(-age)}, strings.NewReader(id), 10); err != nil {
			t.Fatal(err)
		}
	}
	retention := 2 * time.Hour
	j := documents.NewJanitor(st, clk, func() time.Duration { return retention }, nil)
	defer j.Stop()
	clk.Advance(documents.PurgeInterval - time.Second)
	if n, _ := st.DocumentStats(ctx); n.Count != 3 || j.Purged() != 0 {
		t.Fatalf("purged before the interval: %+v", n)
	}
	clk.Advance(time.Second) // now t0+1h: "c" (4 h old) and "b" (2.5 h) are past 2 h
	if n, _ := st.DocumentStats(ctx); n.Count != 1 || j.Purged() != 2 {
		t.Fatalf("after the first purge: %+v, purged %d", n, j.Purged())
	}
	retention = 0 // keep everything from now on
	clk.Advance(10 * documents.PurgeInterval)
	if n, _ := st.DocumentStats(ctx); n.Count != 1 {
		t.Fatalf("retention 0 purged: %+v", n)
	}
}

func TestServeAndUploadBody(t *testing.T) {
	rec := httptest.NewRecorder()
	d := store.Document{ID: "x", Name: `évil"/../name.txt`, ContentType: "text/plain", Size: 5}
	if err := documents.Serve(rec, d, strings.NewReader("hello")); err != nil {
		t.Fatal(err)
	}
	_, params, err := mime.ParseMediaType(rec.Header().Get("Content-Disposition"))
	if err != nil || params["filename"] != "name.txt" || rec.Body.String() != "hello" || rec.Header().Get("Content-Length") != "5" {
		t.Fatalf("served %q %v %q", rec.Header().Get("Content-Disposition"), err, rec.Body)
	}
	req := httptest.NewRequest(http.MethodPost, "/?name=a%2Fb.pdf", strings.NewReader("raw"))
	req.Header.Set("Content-Type", "application/octet-stream")
	up, err := documents.UploadBody(req, 1024)
	if err != nil || up.Name != "b.pdf" || up.ContentType != "application/pdf" {
		t.Fatalf("raw upload %+v %v", up, err)
	}
	if b, _ := io.ReadAll(up.Body); string(b) != "raw" {
		t.Fatalf("raw body %q", b)
	}
	body := "--B\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhi\r\n--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"c.png\"\r\nContent-Type: image/png\r\n\r\nPNG\r\n--B--\r\n"
	req = httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	req.Header.Set("Content-Type", "multipart/form-data; boundary=B")
	up, err = documents.UploadBody(req, 1024)
	if err != nil || up.Name != "c.png" || up.ContentType != "image/png" {
		t.Fatalf("multipart upload %+v %v", up, err)
	}
	if b, _ := io.ReadAll(up.Body); string(b) != "PNG" {
		t.Fatalf("multipart body %q", b)
	}
	req = httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	req.Header.Set("Content-Type", "multipart/form-data; boundary=B")
	if _, err := documents.UploadBody(req, 1); err == nil {
		t.Fatal("fields before the file beyond the budget were skipped")
	}
}
