package wsbatch

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestCorkedMessagesArriveTogetherInOrder writes three messages while
// corked: none reaches the socket (the bytes are held: 2 bytes of header
// each plus the payload), Uncork sends them, and the client reads them in
// order; a ping and more messages after Uncork go straight through.
func TestCorkedMessagesArriveTogetherInOrder(t *testing.T) {
	msgs := []string{"one", "two <2>", "three, a little longer"}
	held := make(chan int, 1)
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, cc, err := Accept(w, r, nil)
		if err != nil {
			t.Errorf("accept: %v", err)
			return
		}
		defer ws.CloseNow()
		ctx := context.Background()
		cc.Cork()
		for _, m := range msgs {
			if err := ws.Write(ctx, websocket.MessageText, []byte(m)); err != nil {
				t.Errorf("write while corked: %v", err)
			}
		}
		held <- cc.Held()
		if err := cc.Uncork(time.Now().Add(5 * time.Second)); err != nil {
			t.Errorf("uncork: %v", err)
		}
		if err := ws.Write(ctx, websocket.MessageText, []byte("after")); err != nil {
			t.Errorf("write after uncork: %v", err)
		}
		if cc.Held() != 0 {
			t.Errorf("%d bytes held after Uncork", cc.Held())
		}
		<-done
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+srv.URL[len("http"):], nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	want := 0
	for _, m := range msgs {
		want += 2 + len(m)
	}
	if got := <-held; got != want {
		t.Errorf("held %d bytes while corked, want %d (three frames)", got, want)
	}
	for _, m := range append(msgs, "after") {
		_, b, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		if string(b) != m {
			t.Errorf("read %q, want %q", b, m)
		}
	}
	close(done)
}
