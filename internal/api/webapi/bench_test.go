package webapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/confab/confab/client/chatv2"
	"github.com/confab/confab/internal/api/webapi"
	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/config"
)

// benchWriter is a reusable http.ResponseWriter, so that the benchmark
// measures the handlers rather than httptest's recorder.
type benchWriter struct {
	header http.Header
	code   int
	body   []byte
}

func (w *benchWriter) Header() http.Header  { return w.header }
func (w *benchWriter) WriteHeader(code int) { w.code = code }
func (w *benchWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = 200
	}
	w.body = append(w.body, p...)
	return len(p), nil
}
func (w *benchWriter) reset() {
	clear(w.header)
	w.code, w.body = 0, w.body[:0]
}

// BenchmarkSendRefresh measures one round trip of the customer's hot path:
// a send, then a refresh from the message just sent, each decoded,
// authenticated, applied to the engine and answered with JSON.
//
// "handlers" calls the mux in-process (no network, no journal): the
// adapter's own cost. "http" goes through the client package over loopback
// to a whole node (store included, transcript-auto-save 0).
func BenchmarkSendRefresh(b *testing.B) {
	b.Run("handlers", func(b *testing.B) {
		cfg := config.Default()
		engine := chat.New(chat.Options{Settings: chat.Settings{ClosedGrace: 1, SessionLimit: 1 << 30}})
		api := webapi.New(webapi.Options{Engine: engine, Config: func() *config.Config { return cfg }, Log: quietLog()})
		defer api.Shutdown(context.Background())
		mux := http.NewServeMux()
		api.Register(mux)
		rec := &benchWriter{header: http.Header{}}
		serve := func(target, body string) *benchWriter {
			req, _ := http.NewRequest(http.MethodPost, target, strings.NewReader(body))
			req.Header["Content-Type"] = []string{formType}
			rec.reset()
			mux.ServeHTTP(rec, req)
			if rec.code != 200 {
				b.Fatalf("%s: HTTP %d %s", target, rec.code, rec.body)
			}
			return rec
		}
		var start struct{ ChatID, UserID, SecureKey string }
		json.Unmarshal(serve("/genesys/2/chat/customer-support", "nickname=Bench").body, &start)
		base := "/genesys/2/chat/customer-support/" + start.ChatID
		creds := "userId=" + start.UserID + "&secureKey=" + start.SecureKey + "&alias=1"
		send := creds + "&message=Hello+there%2C+I+have+a+question+about+my+order&messageType=text"
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			serve(base+"/send", send)
			rec := serve(base+"/refresh", creds+"&transcriptPosition="+strconv.Itoa(i+2))
			if i == 0 && !strings.Contains(string(rec.body), `"text":"Hello there`) {
				b.Fatalf("refresh did not return the message: %s", rec.body)
			}
		}
	})
	b.Run("http", func(b *testing.B) {
		h := startNode(b, nil, nil)
		ctx := context.Background()
		c, _, err := h.client.RequestChat(ctx, "customer-support", chatv2.ChatRequest{Nickname: "Bench"})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := c.Send(ctx, "Hello there, I have a question about my order", nil); err != nil {
				b.Fatal(err)
			}
			if _, err := c.Refresh(ctx, i+2); err != nil {
				b.Fatal(err)
			}
		}
	})
}
