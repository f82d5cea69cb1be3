package agent_test

import (
	"context"
	"fmt"
	"runtime/metrics"
	"testing"
	"time"

	wire "github.com/confab/confab/client/agent"
	"github.com/confab/confab/internal/api/agent"
	"github.com/confab/confab/internal/chat"
)

// goroutinesCreated is the process's count of goroutines created so far.
func goroutinesCreated(t *testing.T) uint64 {
	t.Helper()
	s := []metrics.Sample{{Name: "/sched/goroutines-created:goroutines"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		t.Fatalf("metric %s not supported", s[0].Name)
	}
	return s[0].Value.Uint64()
}

// TestWatcherNoGoroutinePerEvent: a watched session's events are sent by
// the handler's runners (internal/runq), not by a goroutine started for each
// change. Each message is sent once the previous one arrived, so every one
// wakes the parked watcher: a goroutine per wake-up would be one per
// message. The runners stay within Options.Runners.
func TestWatcherNoGoroutinePerEvent(t *testing.T) {
	const messages, runners = 200, 3
	e := newEnv(t, chat.Settings{}, func(o *agent.Options) { o.Runners = runners })
	c := e.dial(t, tokBot)
	s, p := e.customer(t, "q", false)
	if _, err := c.Join(ctxT(t), s.ID(), wire.JoinOptions{}); err != nil {
		t.Fatal(err)
	}
	send := func(i int) {
		t.Helper()
		text := fmt.Sprintf("m%d", i)
		if _, err := s.Send(p.UserID, chat.Msg{Text: text}); err != nil {
			t.Fatal(err)
		}
		waitEvent(t, c, func(id string, ev wire.Event) bool { return id == s.ID() && ev.Text == text })
	}
	send(-1) // the replay is sent and the watcher parked
	before := goroutinesCreated(t)
	for i := range messages {
		send(i)
		if n, _ := e.handler.Runners(); n > runners {
			t.Fatalf("%d runners, more than the %d allowed", n, runners)
		}
	}
	if n := goroutinesCreated(t) - before; n > messages/10 {
		t.Errorf("%d goroutines created for %d messages to one watcher: one per wake-up?", n, messages)
	}
	c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for n, _ := e.handler.Runners(); n != 0; n, _ = e.handler.Runners() {
		if time.Now().After(deadline) {
			t.Fatalf("%d runners left after the handler's last socket ended", n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestRunnersConcurrent: several sockets watching many sessions that get
// messages from several goroutines at once, on two runners: every socket
// gets every message of each of its sessions once, in order (run with
// -race: the watchers' hand-over between runners and senders).
func TestRunnersConcurrent(t *testing.T) {
	const sockets, perSocket, messages, senders = 3, 8, 60, 4
	e := newEnv(t, chat.Settings{}, func(o *agent.Options) { o.Runners = 2 })
	type watched struct {
		s    *chat.Session
		user string
	}
	var all []watched
	clients := make([]*wire.Client, sockets)
	for i := range clients {
		clients[i] = e.dial(t, tokBot)
		for range perSocket {
			s, p := e.customer(t, "q", false)
			if _, err := clients[i].Join(ctxT(t), s.ID(), wire.JoinOptions{}); err != nil {
				t.Fatal(err)
			}
			all = append(all, watched{s, p.UserID})
		}
	}
	errs := make(chan error, senders)
	for g := range senders {
		go func() {
			for k := range messages {
				for i := g; i < len(all); i += senders {
					if _, err := all[i].s.Send(all[i].user, chat.Msg{Text: fmt.Sprintf("n%d", k)}); err != nil {
						errs <- err
						return
					}
				}
			}
			errs <- nil
		}()
	}
	for range senders {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range clients {
		got := map[string]int{} // next message number expected, by session
		done := 0
		timeout := time.After(20 * time.Second)
		for done < perSocket {
			select {
			case f, ok := <-c.Frames():
				if !ok {
					t.Fatalf("socket %d ended: %v", i, c.Err())
				}
				for _, ev := range f.Events {
					var k int
					if _, err := fmt.Sscanf(ev.Text, "n%d", &k); err != nil {
						continue
					}
					if k != got[f.SessionID] {
						t.Fatalf("socket %d, session %s: message %d, want %d (lost, duplicated or reordered)", i, f.SessionID, k, got[f.SessionID])
					}
					got[f.SessionID]++
					if k == messages-1 {
						done++
					}
				}
			case <-timeout:
				t.Fatalf("socket %d: %d of %d sessions complete: %v", i, done, perSocket, got)
			}
		}
	}
}

// TestHeldBackWatcherFreesRunner: watchers held back by one socket's
// backlogged queue (its reader stopped) do not hold the handler's only
// runner: another socket's session starts and delivers meanwhile, and the
// held-back socket gets every message, in order, once it reads again.
func TestHeldBackWatcherFreesRunner(t *testing.T) {
	const sessions, rounds = 20, 25
	e := newSlowEnv(t, 16, 0, func(o *agent.Options) { o.Runners = 1 })
	r := e.dialPaused(t, tokBot)
	ss, cs := e.joinSessions(t, r, sessions)
	r.hold.Lock() // stop reading
	burst(t, ss, cs, rounds, 4000)
	e.waitHeldSteady(t)
	if n := e.slow.Load(); n != 0 {
		t.Fatalf("closed as a slow consumer %d times while the reader paused", n)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	other, err := wire.Dial(ctx, e.url, tokBot, nil) // a second socket of the account
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer other.Close()
	s, p, _, err := e.engine.Create(chat.CreateRequest{Tenant: "1", Endpoint: "default", Queue: "q",
		Creator: chat.JoinRequest{Nick: "Lee", Type: chat.Client, Protocol: chat.Flex, Secret: "customer-secure-key"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Join(ctx, s.ID(), wire.JoinOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Send(p.UserID, chat.Msg{Text: "while held back"}); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, other, func(id string, ev wire.Event) bool { return id == s.ID() && ev.Text == "while held back" })
	if e.clock.Pending() == 0 {
		t.Fatal("the paused socket's watchers were no longer held back: the test proved nothing")
	}
	if n, _ := e.handler.Runners(); n > 1 {
		t.Fatalf("%d runners, more than the 1 allowed", n)
	}

	r.expect(sessions * rounds)
	r.hold.Unlock()
	select {
	case <-r.all:
	case <-r.c.Done():
		t.Fatalf("socket closed before every message arrived: %v", r.c.Err())
	case <-time.After(30 * time.Second):
		r.mu.Lock()
		t.Fatalf("not every message arrived: %d of %d", r.n, sessions*rounds)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.wantInOrder(t, ss, rounds)
}
