package webapi_test

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/confab/confab/client/chatv2"
	"github.com/confab/confab/internal/api/webapi"
	"github.com/confab/confab/internal/chat"
)

// BenchmarkPushDelivery: one agent message into one of 32 sessions, in
// turn, delivered to the session's customer over its push socket (the
// engine's send, the socket's wake-up, read, encode and write, and the
// client's read of the frame). The sockets are idle between their turns,
// as a dense server's are.
func BenchmarkPushDelivery(b *testing.B) {
	const sessions = 32
	h := startAPI(b, nil, nil, webapi.Options{})
	ctx := ctxT(b)
	type open struct {
		sess  *chat.Session
		agent chat.Participant
		sub   *chatv2.Subscription
	}
	var opened []open
	for i := range sessions {
		c, s, agent := h.newChat(ctx, fmt.Sprint("Ann", i))
		sub, err := c.Subscribe(ctx, 1)
		if err != nil {
			b.Fatal(err)
		}
		defer sub.Close()
		if _, err := sub.Next(ctx); err != nil {
			b.Fatal(err)
		}
		opened = append(opened, open{s, agent, sub})
	}
	b.ReportAllocs()
	cpu0 := processCPU(b)
	b.ResetTimer()
	for i := range b.N {
		o := opened[i%sessions]
		if _, err := o.sess.Send(o.agent.UserID, chat.Msg{Text: "hello there", Type: "text"}); err != nil {
			b.Fatal(err)
		}
		for got := 0; got == 0; {
			resp, err := o.sub.Next(ctx)
			if err != nil {
				b.Fatal(err)
			}
			got = len(resp.Messages)
		}
	}
	b.StopTimer()
	// The process's CPU (server and client alike) per delivery: on a
	// machine shared with other work, a steadier figure than ns/op.
	b.ReportMetric(float64((processCPU(b)-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// processCPU returns the CPU time (user and system) this process used.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
