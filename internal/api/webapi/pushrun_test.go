package webapi_test

import (
	"bytes"
	"fmt"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"github.com/confab/confab/client/chatv2"
	"github.com/confab/confab/internal/api/webapi"
	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/clock"
)

// serverPushGoroutines counts the goroutines running the customer API's
// code (the client's own are in client/chatv2 and the library), but for
// pings waiting for their pong: one runs for a moment every ping
// interval, and a client answers only while it reads.
func serverPushGoroutines(t *testing.T) int {
	t.Helper()
	var b bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&b, 2); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, g := range strings.Split(b.String(), "\n\n") {
		g, _, _ = strings.Cut(g, "\ncreated by ") // its own frames, not its creator's
		if strings.Contains(g, "confab/internal/api/webapi.") && !strings.Contains(g, "pushrun_test.go") &&
			!strings.Contains(g, "webapi.(*pushRun).pingOnce") {
			n++
		}
	}
	return n
}

// TestPushIdleSocketOneGoroutine: an idle push socket keeps one goroutine
// of the server (its reader; the writer parks on the session), and each
// socket still gets what its session sends afterwards, through the
// runners, and the pings (fake clock) do not break it. The writer loop of
// before kept two goroutines per socket.
func TestPushIdleSocketOneGoroutine(t *testing.T) {
	const sockets = 12
	fake := clock.NewFake(time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC))
	h := startAPI(t, nil, fake, webapi.Options{PingInterval: time.Second})
	ctx := ctxT(t)
	before := serverPushGoroutines(t)
	type open struct {
		sess  *chat.Session
		agent chat.Participant
		sub   *chatv2.Subscription
	}
	var opened []open
	for i := range sockets {
		c, s, agent := h.newChat(ctx, fmt.Sprint("Ann", i))
		sub, err := c.Subscribe(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Close()
		if _, err := sub.Next(ctx); err != nil {
			t.Fatal(err)
		}
		opened = append(opened, open{s, agent, sub})
	}
	var held int
	defer func() {
		if t.Failed() {
			dumpPush(t)
		}
	}()
	eventually(t, "the push sockets to settle", func() bool {
		held = serverPushGoroutines(t) - before
		return held <= sockets
	})
	if held < sockets {
		t.Fatalf("%d server goroutines for %d push sockets: the readers are not counted", held, sockets)
	}
	for round := range 3 {
		fake.Advance(time.Second) // the pings: answered by the clients' reads below
		for i, o := range opened {
			text := fmt.Sprintf("round %d to %d", round, i)
			durable(t)(o.sess.Send(o.agent.UserID, chat.Msg{Text: text}))
			var seen []chatv2.Message
			for !hasMessage(seen, text) {
				resp, err := o.sub.Next(ctx)
				if err != nil {
					t.Fatalf("socket %d, round %d: %v", i, round, err)
				}
				seen = append(seen, resp.Messages...)
			}
		}
	}
	eventually(t, "the woken writers to park again", func() bool {
		held = serverPushGoroutines(t) - before
		return held <= sockets
	})
}

func dumpPush(t *testing.T) {
	var b bytes.Buffer
	pprof.Lookup("goroutine").WriteTo(&b, 2)
	for _, g := range strings.Split(b.String(), "\n\n") {
		g, _, _ = strings.Cut(g, "\ncreated by ")
		if strings.Contains(g, "confab/internal/api/webapi.") {
			t.Log(g)
		}
	}
}
