package chatv2_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/confab/confab/client/chatv2"
)

// TestKeepAlive checks that a subscription sends keepalive frames by
// itself while it is open, that a program's idle subscriptions keep no
// goroutine each for them, and that none is sent once it is closed.
func TestKeepAlive(t *testing.T) {
	const subs = 20
	got := make(chan string, 1000)
	closed := make(chan struct{}, subs)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer conn.CloseNow()
		conn.Write(r.Context(), websocket.MessageText, []byte(`{"statusCode":0,"chatEnded":false,"nextPosition":1,"messages":[]}`))
		for {
			_, p, err := conn.Read(r.Context())
			if err != nil {
				if websocket.CloseStatus(err) == websocket.StatusNormalClosure {
					closed <- struct{}{}
				}
				return
			}
			got <- r.URL.Query().Get("userId") + " " + string(p)
		}
	}))
	t.Cleanup(ts.Close)
	// A keepalive's write may take at most a period (as it always could),
	// so the period is one a loaded machine under -race still writes in.
	c := chatv2.New(ts.URL+"/genesys/2/chat", chatv2.Options{KeepAlive: 200 * time.Millisecond})
	t.Cleanup(c.CloseIdleConnections)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	// Idle subscriptions (the next keepalive an hour away) hold no
	// goroutine each on the client side: the server's handlers (one per
	// socket) are the ones that grew; a keepalive loop per subscription
	// would add one more each. No keepalive is being sent meanwhile, so no
	// sending goroutine is counted either.
	idle := chatv2.New(ts.URL+"/genesys/2/chat", chatv2.Options{KeepAlive: time.Hour})
	t.Cleanup(idle.CloseIdleConnections)
	before := runtime.NumGoroutine()
	var quiet []*chatv2.Subscription
	for i := range subs {
		sub, err := idle.Resume("svc", "C1", string(rune('A'+i)), "K1", "1").Subscribe(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sub.Next(ctx); err != nil { // the server's handler is reading now
			t.Fatal(err)
		}
		quiet = append(quiet, sub)
	}
	n := runtime.NumGoroutine() - before
	t.Logf("%d goroutines more with %d open idle subscriptions", n, subs)
	if n >= subs+subs/2 {
		t.Errorf("%d goroutines more with %d open subscriptions: a goroutine per subscription's keepalives?", n, subs)
	}
	for _, sub := range quiet {
		sub.Close()
	}
	for range subs {
		select {
		case <-closed:
		case <-ctx.Done():
			t.Fatal("the idle subscriptions' close frames did not arrive")
		}
	}

	var all []*chatv2.Subscription
	for i := range subs {
		sub, err := c.Resume("svc", "C1", string(rune('a'+i)), "K1", "1").Subscribe(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, sub)
	}
	// Each subscription sends keepalives on its own, several in a row.
	seen := map[string]int{}
	for len(seen) < subs || minCount(seen) < 3 {
		select {
		case m := <-got:
			if m[1:] != " {}" {
				t.Fatalf("keepalive frame %q, want {}", m)
			}
			seen[m[:1]]++
		case <-ctx.Done():
			t.Fatalf("keepalives seen %v: not 3 from each of %d subscriptions", seen, subs)
		}
	}
	for _, sub := range all {
		sub.Close()
	}
	for range subs {
		select {
		case <-closed:
		case <-ctx.Done():
			t.Fatal("the subscriptions' close frames did not arrive")
		}
	}
	// Closed: the server saw each close frame after the last keepalive
	// (it stops reading there), and no timer sends on a closed socket.
	for _, sub := range all {
		if err := sub.KeepAlive(ctx); err == nil {
			t.Fatal("KeepAlive on a closed subscription succeeded")
		}
	}
}

func minCount(m map[string]int) int {
	low := -1
	for _, n := range m {
		if low < 0 || n < low {
			low = n
		}
	}
	return low
}
