package wsbatch

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/coder/websocket"
)

// BenchmarkTextFrame is the CPU of putting one push-sized text message
// into a corked connection's buffer: through the library's Write, and by
// AppendText (the buffer is emptied after each, so no system call is in
// either).
func BenchmarkTextFrame(b *testing.B) {
	msg := make([]byte, 420) // a push frame with one message
	ready := make(chan struct{})
	var ws *websocket.Conn
	var cc *Conn
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var err error
		ws, cc, err = Accept(w, r, nil)
		if err != nil {
			b.Error(err)
			close(ready)
			return
		}
		close(ready)
		<-done
		ws.CloseNow()
	}))
	defer srv.Close()
	defer close(done)
	c, _, err := websocket.Dial(context.Background(), "ws"+srv.URL[len("http"):], nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.CloseNow()
	<-ready
	if cc == nil {
		b.Fatal("no connection")
	}
	cc.Cork()
	empty := func() {
		cc.mu.Lock()
		cc.buf = cc.buf[:0]
		cc.mu.Unlock()
	}
	b.Run("library", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := ws.Write(context.Background(), websocket.MessageText, msg); err != nil {
				b.Fatal(err)
			}
			empty()
		}
	})
	b.Run("AppendText", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := cc.AppendText(msg); err != nil {
				b.Fatal(err)
			}
			empty()
		}
	})
}
