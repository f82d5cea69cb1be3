package agent_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"syscall"
	"testing"
	"time"

	wire "github.com/confab/confab/client/agent"
	"github.com/confab/confab/internal/api/agent"
	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/routing"
)

// BenchmarkWatcherWake: one message at a time to a watched session,
// each sent once the previous one arrived at the agent's socket, so that
// every message wakes the parked watcher; cpu-µs/op is the process's CPU
// (user+system) per message: server, client and the test's sender
// together.
func BenchmarkWatcherWake(b *testing.B) {
	var journals chat.Journals
	engine := chat.New(chat.Options{Journal: &journals, Settings: chat.DefaultSettings})
	router := routing.New(routing.Options{Engine: engine})
	journals = append(journals, router)
	h := agent.New(agent.Options{Engine: engine, Router: router, Agents: testAgents, MaxFrame: func() int { return 4096 }})
	mux := http.NewServeMux()
	h.Register(mux)
	srv := httptest.NewServer(mux)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		h.Shutdown(ctx)
		srv.Close()
		router.Flush(ctx)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := wire.Dial(ctx, srv.URL, tokBot, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	s, p, _, err := engine.Create(chat.CreateRequest{Tenant: "1", Endpoint: "default", Queue: "q",
		Creator: chat.JoinRequest{Nick: "Kim", Type: chat.Client, Protocol: chat.Flex, Secret: "customer-secure-key"}})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := c.Join(ctx, s.ID(), wire.JoinOptions{}); err != nil {
		b.Fatal(err)
	}
	send := func(i int) {
		text := "m" + strconv.Itoa(i)
		if _, err := s.Send(p.UserID, chat.Msg{Text: text}); err != nil {
			b.Fatal(err)
		}
		for {
			select {
			case f, ok := <-c.Frames():
				if !ok {
					b.Fatalf("socket ended: %v", c.Err())
				}
				for _, ev := range f.Events {
					if ev.Text == text {
						return
					}
				}
			case <-ctx.Done():
				b.Fatal("timed out waiting for a message")
			}
		}
	}
	send(-1)
	cpu0 := processCPU(b)
	b.ResetTimer()
	for i := range b.N {
		send(i)
	}
	b.StopTimer()
	b.ReportMetric(float64(processCPU(b)-cpu0)/1e3/float64(b.N), "cpu-µs/op")
}

// processCPU is the process's user and system CPU so far.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
