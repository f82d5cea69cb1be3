package wsbatch

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
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

// deadlineConn is a net.Conn that records what is written and the write
// deadlines set on it.
type deadlineConn struct {
	net.Conn // nil: only Write and SetWriteDeadline are called
	wrote    []byte
	sets     int
	dl       time.Time
	dlAt     []time.Time // the deadline in force at each write
}

func (c *deadlineConn) Write(p []byte) (int, error) {
	c.wrote = append(c.wrote, p...)
	c.dlAt = append(c.dlAt, c.dl)
	return len(p), nil
}

func (c *deadlineConn) SetWriteDeadline(t time.Time) error { c.sets++; c.dl = t; return nil }

// TestUncorkKeepsADeadline: a busy writer's Uncorks set the write deadline
// once while it leaves half of the time asked for, every corked write has
// one, and an uncorked write (a ping) goes out with none.
func TestUncorkKeepsADeadline(t *testing.T) {
	raw := &deadlineConn{}
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	c := &Conn{Conn: raw, now: func() time.Time { return now }}
	const timeout = 10 * time.Second
	batch := func(frame string, timeout time.Duration) error {
		c.Cork()
		c.Write([]byte(frame))
		return c.Uncork(now.Add(timeout))
	}
	for i := 0; i < 100; i++ { // 100 batches 40 ms apart: 4 s
		if err := batch("frame", timeout); err != nil {
			t.Fatal(err)
		}
		if left := raw.dl.Sub(now); left < timeout/2 || left > timeout {
			t.Fatalf("batch %d written with %v left of its deadline, want %v to %v", i, left, timeout/2, timeout)
		}
		now = now.Add(40 * time.Millisecond)
	}
	if raw.sets != 1 {
		t.Errorf("100 batches in 4 s set the write deadline %d times, want 1", raw.sets)
	}
	// Past half the time, the deadline moves.
	now = now.Add(2 * time.Second)
	if err := batch("late", timeout); err != nil || raw.sets != 2 || !raw.dl.Equal(now.Add(timeout)) {
		t.Errorf("a batch 6 s on: err %v, %d sets, deadline %v, want %v", err, raw.sets, raw.dl, now.Add(timeout))
	}
	// A shorter timeout than the one in force moves it too.
	if err := batch("short", time.Second); err != nil || !raw.dl.Equal(now.Add(time.Second)) {
		t.Errorf("a batch with a 1 s timeout: err %v, deadline %v, want %v", err, raw.dl, now.Add(time.Second))
	}
	// An uncorked write clears it first; the next batch sets one again.
	c.Write([]byte("ping"))
	if last := raw.dlAt[len(raw.dlAt)-1]; !last.IsZero() {
		t.Errorf("an uncorked write went out with deadline %v, want none", last)
	}
	if err := batch("again", timeout); err != nil || raw.dlAt[len(raw.dlAt)-1].IsZero() {
		t.Errorf("the batch after an uncorked write has no deadline (err %v)", err)
	}
	for i, dl := range raw.dlAt {
		if dl.IsZero() && i != len(raw.dlAt)-2 {
			t.Errorf("write %d had no deadline", i)
		}
	}
	if got, want := string(raw.wrote), strings.Repeat("frame", 100)+"late"+"short"+"ping"+"again"; got != want {
		t.Errorf("wrote %q, want %q", got, want)
	}
}
