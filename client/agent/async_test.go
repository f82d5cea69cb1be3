package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestSendAsync chains sends from done (as the load generator does)
// against a scripted server that answers each send with its position,
// refuses the text "refuse", and drops the connection at the text "drop"
// without an answer.
func TestSendAsync(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		ctx := r.Context()
		c.Write(ctx, websocket.MessageText, []byte(`{"type":"hello","agent":{"id":"a1","name":"A","userType":"AGENT"},"maxFrameSize":65536}`))
		pos := 0
		for {
			_, data, err := c.Read(ctx)
			if err != nil {
				return
			}
			var req Request
			if json.Unmarshal(data, &req) != nil || req.Op != OpSend || req.SessionID != "s1" {
				t.Errorf("unexpected request %s", data)
				return
			}
			var answer string
			switch req.Text {
			case "refuse":
				answer = fmt.Sprintf(`{"type":"error","id":%q,"code":%d,"error":"not-participant","message":"no"}`, req.ID, CodeNotJoined)
			case "drop":
				return
			default:
				pos++
				answer = fmt.Sprintf(`{"type":"result","id":%q,"op":"send","pos":%d,"eventId":%d}`, req.ID, pos, pos)
			}
			c.Write(ctx, websocket.MessageText, []byte(answer))
		}
	}))
	defer srv.Close()
	cl, err := Dial(context.Background(), "ws"+strings.TrimPrefix(srv.URL, "http")+Path, "tok", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	go func() {
		for range cl.Frames() {
		}
	}()

	type result struct {
		a   Ack
		err error
	}
	results := make(chan result, 100)
	const chain = 50
	var next func(i int)
	next = func(i int) {
		text := fmt.Sprint("m", i)
		if i == chain {
			text = "refuse"
		}
		cl.SendAsync("s1", Message{Text: text}, func(a Ack, err error) {
			results <- result{a, err}
			if i < chain {
				next(i + 1)
			}
		})
	}
	next(1)
	for i := 1; i <= chain; i++ {
		var r result
		select {
		case r = <-results:
		case <-time.After(10 * time.Second):
			t.Fatalf("no answer to send %d", i)
		}
		if i < chain && (r.err != nil || r.a.Pos != i) {
			t.Fatalf("send %d: %+v, %v", i, r.a, r.err)
		}
		var e *Error
		if i == chain && (!errors.As(r.err, &e) || e.Code != CodeNotJoined) {
			t.Fatalf("refused send: %+v, %v", r.a, r.err)
		}
	}

	// Requests in flight when the connection ends are told so.
	for range 3 {
		cl.SendAsync("s1", Message{Text: "drop"}, func(a Ack, err error) { results <- result{a, err} })
	}
	for range 3 {
		select {
		case r := <-results:
			if !errors.Is(r.err, ErrClosed) {
				t.Fatalf("send lost with its connection: %+v, %v", r.a, r.err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a send lost with its connection was never answered")
		}
	}
	cl.SendAsync("s1", Message{Text: "late"}, func(a Ack, err error) { results <- result{a, err} })
	if r := <-results; !errors.Is(r.err, ErrClosed) {
		t.Fatalf("send on an ended connection: %+v, %v", r.a, r.err)
	}
}
