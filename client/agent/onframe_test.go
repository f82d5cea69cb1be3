package agent

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/coder/websocket"
)

// TestOnFrame checks Options.OnFrame against a scripted server: the
// frames it reports handled do not reach Frames, the others do, in order,
// and events already delivered are dropped before either sees them.
func TestOnFrame(t *testing.T) {
	frames := []string{
		`{"type":"events","sessionId":"s1","events":[{"pos":0,"eventId":1,"kind":"message","time":"2026-12-01T14:00:00Z","timeShift":0,"from":{"nickname":"c","userType":"CLIENT"},"visibility":"ALL","text":"one"}],"next":1,"state":"alive"}`,
		`{"type":"error","code":1,"error":"bad-frame","message":"x"}`,
		// pos 0 again (a replay) and pos 1: only pos 1 is new
		`{"type":"events","sessionId":"s1","events":[{"pos":0,"eventId":1,"kind":"message","time":"2026-12-01T14:00:00Z","timeShift":0,"from":{"nickname":"c","userType":"CLIENT"},"visibility":"ALL","text":"one"},{"pos":1,"eventId":2,"kind":"message","time":"2026-12-01T14:00:01Z","timeShift":1,"from":{"nickname":"c","userType":"CLIENT"},"visibility":"ALL","text":"two"}],"next":2,"state":"closed"}`,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		ctx := r.Context()
		c.Write(ctx, websocket.MessageText, []byte(`{"type":"hello","agent":{"id":"a1","name":"A","userType":"AGENT"},"maxFrameSize":65536}`))
		for _, f := range frames {
			c.Write(ctx, websocket.MessageText, []byte(f))
		}
		c.Read(ctx) // until the client closes
	}))
	defer srv.Close()
	var handled []string
	sawLast := make(chan struct{})
	cl, err := Dial(context.Background(), "ws"+strings.TrimPrefix(srv.URL, "http")+Path, "tok", &Options{
		OnFrame: func(f *Frame) bool {
			if f.Type != FrameEvents {
				return false
			}
			for _, ev := range f.Events {
				handled = append(handled, ev.Text)
			}
			if f.State == "closed" {
				close(sawLast)
			}
			return true
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	f, ok := <-cl.Frames()
	if !ok || f.Type != FrameError || f.Code != CodeBadFrame {
		t.Fatalf("Frames gave %+v (open %v), want the error frame", f, ok)
	}
	<-sawLast
	cl.Close()
	for f := range cl.Frames() {
		t.Errorf("Frames gave a frame OnFrame handled: %+v", f)
	}
	if got := strings.Join(handled, ","); got != "one,two" {
		t.Errorf("OnFrame saw %q, want one,two (the replayed event dropped)", got)
	}
}
