package webapi_test

import (
	"context"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/confab/confab/internal/api/webapi"
	"github.com/confab/confab/internal/clock"
)

// TestPushPingsOnlyASilentClient: the ping timer of a push socket pings
// the client only once it has been silent (no keepalive) for a whole ping
// interval. A client whose keepalive came within the interval is not
// pinged then, and is pinged once the interval has passed since it.
func TestPushPingsOnlyASilentClient(t *testing.T) {
	fake := clock.NewFake(time.Date(2026, 12, 2, 5, 0, 0, 0, time.UTC))
	h := startAPI(t, nil, fake, webapi.Options{PingInterval: time.Second})
	ctx := ctxT(t)
	c, _, _ := h.newChat(ctx, "Ann")
	q := url.Values{"userId": {c.UserID}, "secureKey": {c.SecureKey}, "alias": {c.Alias()}, "transcriptPosition": {"1"}}
	u := "ws" + strings.TrimPrefix(h.base, "http") + "/customer-support/" + c.ID + "/ws?" + q.Encode()
	var pings, frames atomic.Int32
	conn, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{
		OnPingReceived: func(context.Context, []byte) bool { pings.Add(1); return true },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	go func() { // reads the frames, and so answers the pings
		for {
			if _, _, err := conn.Read(context.Background()); err != nil {
				return
			}
			frames.Add(1)
		}
	}()
	eventually(t, "the first frame", func() bool { return frames.Load() > 0 && len(webapi.PushHeard(h.api)) == 1 })

	fake.Advance(500 * time.Millisecond)
	if err := conn.Write(ctx, websocket.MessageText, []byte("{}")); err != nil {
		t.Fatal(err)
	}
	heardAt := fake.Now().UnixNano()
	eventually(t, "the keepalive counted", func() bool { return webapi.PushHeard(h.api)[0] == heardAt })

	// The timer's interval ends 0.5 s after the keepalive: no ping, the
	// timer set again for the rest of the interval.
	pending := fake.Pending()
	fake.Advance(500 * time.Millisecond)
	eventually(t, "the ping timer set again", func() bool { return fake.Pending() == pending })
	if n := pings.Load(); n != 0 {
		t.Fatalf("%d pings 0.5 s after a keepalive, want 0", n)
	}
	// A whole interval since the keepalive: pinged.
	fake.Advance(500 * time.Millisecond)
	eventually(t, "a ping of the silent client", func() bool { return pings.Load() == 1 })
	eventually(t, "the ping timer set again after the pong", func() bool { return fake.Pending() == pending })
	if n := pings.Load(); n != 1 {
		t.Fatalf("%d pings, want 1", n)
	}
}

// BenchmarkPushPing is what one ping of a push socket costs, server and
// client together: the timer's wake-up, the ping and its pong, and the
// timer set again — what a client sending keepalives no longer costs
// (TestPushPingsOnlyASilentClient). cpu-ns/op is the process's CPU. The
// client sends no keepalive, so run it for fewer pings than
// flex-disconnect-timeout has seconds (45 by default): -benchtime=30x.
func BenchmarkPushPing(b *testing.B) {
	fake := clock.NewFake(time.Date(2026, 12, 2, 5, 0, 0, 0, time.UTC))
	h := startAPI(b, nil, fake, webapi.Options{PingInterval: time.Second})
	ctx := context.Background()
	c, _, _ := h.newChat(ctx, "Ann")
	q := url.Values{"userId": {c.UserID}, "secureKey": {c.SecureKey}, "alias": {c.Alias()}, "transcriptPosition": {"1"}}
	u := "ws" + strings.TrimPrefix(h.base, "http") + "/customer-support/" + c.ID + "/ws?" + q.Encode()
	pinged := make(chan struct{}, 1)
	conn, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{
		OnPingReceived: func(context.Context, []byte) bool { pinged <- struct{}{}; return true },
	})
	if err != nil {
		b.Fatal(err)
	}
	defer conn.CloseNow()
	go func() {
		for {
			if _, _, err := conn.Read(context.Background()); err != nil {
				return
			}
		}
	}()
	eventually(b, "the socket registered", func() bool { return len(webapi.PushHeard(h.api)) == 1 })
	pending := fake.Pending()
	b.ReportAllocs()
	cpu0 := processCPU(b)
	for b.Loop() {
		fake.Advance(time.Second)
		select {
		case <-pinged:
		case <-time.After(10 * time.Second):
			b.Fatal("no ping")
		}
		eventually(b, "the ping timer set again after the pong", func() bool { return fake.Pending() == pending })
	}
	b.ReportMetric(float64((processCPU(b)-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
}
