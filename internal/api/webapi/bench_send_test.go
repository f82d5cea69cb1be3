package webapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/confab/confab/internal/api/webapi"
	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/config"
)

// BenchmarkSendHandler is one customer send through the mux in process (no
// network, no journal): form decode, authentication, the engine's send and
// the JSON answer — the adapter's cost per message on the throughput
// benchmark's path. A fresh session every 10,000 sends keeps the
// transcript, and so the heap, bounded.
func BenchmarkSendHandler(b *testing.B) {
	cfg := config.Default()
	engine := chat.New(chat.Options{Settings: chat.Settings{ClosedGrace: 1, SessionLimit: 1 << 30}})
	api := webapi.New(webapi.Options{Engine: engine, Config: func() *config.Config { return cfg }, Log: quietLog()})
	defer api.Shutdown(context.Background())
	mux := http.NewServeMux()
	api.Register(mux)
	rec := &benchWriter{header: http.Header{}}
	body := strings.NewReader("")
	req, _ := http.NewRequest(http.MethodPost, "/", body)
	serve := func(target, form string) *benchWriter {
		body.Reset(form)
		r := req.Clone(context.Background())
		r.URL.Path, r.RequestURI, r.ContentLength = target, target, int64(len(form))
		r.Body = http.NoBody
		r.Body = readCloser{body}
		r.Header = http.Header{"Content-Type": []string{formType}}
		rec.reset()
		mux.ServeHTTP(rec, r)
		if rec.code != 200 {
			b.Fatalf("%s: HTTP %d %s", target, rec.code, rec.body)
		}
		return rec
	}
	var target, send string
	fresh := func() {
		var start struct{ ChatID, UserID, SecureKey string }
		json.Unmarshal(serve("/genesys/2/chat/customer-support", "nickname=Bench").body, &start)
		target = "/genesys/2/chat/customer-support/" + start.ChatID + "/send"
		send = "userId=" + start.UserID + "&secureKey=" + start.SecureKey + "&alias=1" +
			"&message=Hello%2C+I+have+a+question+about+my+last+order+and+the+delivery+date.+t1_1764587000000000000" +
			"&messageType=text&clientMessageId=b12-41"
	}
	fresh()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%10000 == 9999 {
			b.StopTimer()
			fresh()
			b.StartTimer()
		}
		serve(target, send)
	}
}

type readCloser struct{ *strings.Reader }

func (readCloser) Close() error { return nil }
