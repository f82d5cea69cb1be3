package webapi_test

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/confab/confab/client/chatv2"
	"github.com/confab/confab/internal/api/webapi"
	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/config"
)

var epoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// testProtection turns off the per-address and per-party rates for tests
// that start many chats and send fast from one address; a test of the
// rates sets them again in its own [protection] section, which comes later.
const testProtection = "[protection]\nchat-create-rate = 0\nparty-send-rate = 0\n"

func configWith(t testing.TB, ini string) *config.Config {
	t.Helper()
	cfg, _, err := config.Parse("test.ini", []byte(testProtection+ini))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// eventually waits (polling, with a deadline) for an asynchronous state
// change such as a connection's teardown; it never stands in for a timer.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		runtime.Gosched()
		time.Sleep(time.Millisecond)
	}
}

func present(t testing.TB, s *chat.Session, userID string) bool {
	t.Helper()
	p, err := s.Participant(userID)
	if err != nil {
		t.Fatal(err)
	}
	return !p.Left
}

// checkRemovedForInactivity checks the customer left with quit reason 3,
// as the engine recorded it and as the customer's refresh reports it.
func checkRemovedForInactivity(t *testing.T, s *chat.Session, c *chatv2.Chat) {
	t.Helper()
	evs, _, _ := s.ReadAll(0, nil)
	last := evs[len(evs)-1]
	if last.Kind != chat.PartyLeft || last.From.UserID != c.UserID || last.Reason != chat.LeftDisconnect {
		t.Fatalf("last event %+v, want the customer's partyLeft with reason 3", last)
	}
	if s.State() != chat.Alive {
		t.Error("the session closed although the agent is still there")
	}
	resp, err := c.Refresh(context.Background(), last.ID())
	if err != nil {
		t.Fatal(err)
	}
	if !resp.ChatEnded || len(resp.Messages) != 1 || resp.Messages[0].Type != chatv2.TypeParticipantLeft {
		t.Fatalf("refresh after removal: %+v", resp)
	}
	code := resp.Messages[0].EventAttributes["GCTI_SYSTEM"].(map[string]any)["quit-reason-code"]
	if code != "3" {
		t.Errorf("quit-reason-code = %v, want 3", code)
	}
}

// TestFlexDisconnectTimeout drives flex-disconnect-timeout with the fake
// clock: any request restarts the customer's inactivity period, the timer
// re-arms for the remainder, a reload of the option applies at the next
// expiry, and the customer is removed with quit reason 3.
func TestFlexDisconnectTimeout(t *testing.T) {
	for _, tc := range []struct {
		name     string
		reloadTo time.Duration // 0: no reload
		activity []time.Duration
		// The customer must still be there at stillAt, and gone at goneAt
		// (offsets from the start).
		stillAt, goneAt time.Duration
	}{
		{name: "idle", stillAt: 44 * time.Second, goneAt: 45 * time.Second},
		{name: "refresh restarts the period", activity: []time.Duration{30 * time.Second}, stillAt: 74 * time.Second, goneAt: 75 * time.Second},
		{name: "two requests", activity: []time.Duration{10 * time.Second, 50 * time.Second}, stillAt: 94 * time.Second, goneAt: 95 * time.Second},
		{name: "reloaded to 90 s", reloadTo: 90 * time.Second, stillAt: 89 * time.Second, goneAt: 90 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := clock.NewFake(epoch)
			h := startAPI(t, nil, fake, webapi.Options{})
			ctx := ctxT(t)
			c, s, _ := h.newChat(ctx, "Ann")
			if tc.reloadTo > 0 {
				cfg := *h.cfg.Load()
				cfg.Settings.FlexDisconnectTimeout = tc.reloadTo
				h.cfg.Store(&cfg)
			}
			at := time.Duration(0)
			advanceTo := func(d time.Duration) {
				fake.Advance(d - at)
				at = d
			}
			for _, a := range tc.activity {
				advanceTo(a)
				if _, err := c.Refresh(ctx, 1); err != nil {
					t.Fatal(err)
				}
			}
			advanceTo(tc.stillAt)
			if !present(t, s, c.UserID) {
				t.Fatalf("removed before %v", tc.stillAt)
			}
			advanceTo(tc.goneAt)
			if present(t, s, c.UserID) {
				t.Fatalf("still present at %v", tc.goneAt)
			}
			checkRemovedForInactivity(t, s, c)
			if n := webapi.Watching(h.api); n != 0 {
				t.Errorf("%d customers still watched after removal", n)
			}
		})
	}
}

// TestPushKeepsCustomer checks that a WebSocket's keepalive frames count as
// activity (the open socket alone does not), and that a waiting long poll
// counts as activity however long it lasts, the period starting again when
// it ends.
func TestPushKeepsCustomer(t *testing.T) {
	fake := clock.NewFake(epoch)
	h := startAPI(t, configWith(t, "[settings]\nflex-disconnect-timeout = 10\n"), fake, webapi.Options{})
	ctx := ctxT(t)

	t.Run("websocket keepalives", func(t *testing.T) {
		c, s, _ := h.newChat(ctx, "Ann")
		sub := silentSubscribe(t, h, c)
		for i := 0; i < 12; i++ {
			fake.Advance(5 * time.Second) // 60 s in all, pings every 25 s included
			keepalive(t, sub, s, c.UserID, fake.Now())
		}
		if !present(t, s, c.UserID) {
			t.Fatal("removed although its WebSocket sent keepalives")
		}
		// The socket stays open but sends nothing more: it does not hold
		// the customer past flex-disconnect-timeout.
		fake.Advance(9 * time.Second)
		if !present(t, s, c.UserID) {
			t.Fatal("removed less than the timeout after the last keepalive")
		}
		fake.Advance(2 * time.Second)
		eventually(t, "the silent customer to be removed", func() bool { return !present(t, s, c.UserID) })
		checkRemovedForInactivity(t, s, c)
	})

	t.Run("long poll", func(t *testing.T) {
		c, s, _ := h.newChat(ctx, "Bob")
		answered := make(chan *chatv2.Response, 1)
		go func() {
			resp, err := c.LongPoll(ctx, 3, 30*time.Second)
			if err != nil {
				t.Error(err)
			}
			answered <- resp
		}()
		eventually(t, "the long poll to wait", func() bool { return webapi.Held(h.api, c.ID) == 1 })
		for i := 0; i < 29; i++ {
			fake.Advance(time.Second)
		}
		if !present(t, s, c.UserID) {
			t.Fatal("removed during a long poll")
		}
		select {
		case resp := <-answered:
			t.Fatalf("the long poll answered before its 30 s: %+v", resp)
		default:
		}
		fake.Advance(time.Second)
		resp := <-answered
		if len(resp.Messages) != 0 || resp.ChatEnded || resp.NextPosition != 3 {
			t.Fatalf("an expired long poll answered %+v", resp)
		}
		eventually(t, "the long poll's hold to end", func() bool { return webapi.Held(h.api, c.ID) == 0 })
		fake.Advance(9 * time.Second)
		if !present(t, s, c.UserID) {
			t.Fatal("removed less than the timeout after the long poll")
		}
		fake.Advance(11 * time.Second)
		if present(t, s, c.UserID) {
			t.Fatal("still present a timeout after the long poll")
		}
	})
}

// TestLongPollWakes checks that a long poll answers as soon as an event the
// customer may see arrives, and not for hidden ones.
func TestLongPollWakes(t *testing.T) {
	fake := clock.NewFake(epoch)
	h := startAPI(t, nil, fake, webapi.Options{})
	ctx := ctxT(t)
	c, s, agent := h.newChat(ctx, "Ann")
	answered := make(chan *chatv2.Response, 1)
	go func() {
		resp, err := c.LongPoll(ctx, 3, 30*time.Second)
		if err != nil {
			t.Error(err)
		}
		answered <- resp
	}()
	eventually(t, "the long poll to wait", func() bool { return webapi.Held(h.api, c.ID) == 1 })
	ok := durable(t)
	ok(s.Send(agent.UserID, chat.Msg{Text: "coaching", Visibility: chat.VisInt}))
	select {
	case resp := <-answered:
		t.Fatalf("a hidden event woke the long poll: %+v", resp)
	default:
	}
	ok(s.Send(agent.UserID, chat.Msg{Text: "hello"}))
	resp := <-answered
	if len(resp.Messages) != 1 || resp.Messages[0].Text != "hello" || resp.Messages[0].Index != 4 || resp.NextPosition != 5 {
		t.Fatalf("long poll answered %+v", resp)
	}
}

// TestClosedChatGrace checks that a closed chat keeps answering with
// chatEnded and its final transcript for closed-session-grace, then answers
// like an unknown chat.
func TestClosedChatGrace(t *testing.T) {
	fake := clock.NewFake(epoch)
	h := startAPI(t, nil, fake, webapi.Options{})
	ctx := ctxT(t)
	c, s, agent := h.newChat(ctx, "Ann")
	durable(t)(s.Send(agent.UserID, chat.Msg{Text: "bye"}))
	if _, _, err := s.Leave(chat.LeaveRequest{UserID: agent.UserID, After: chat.ForceClose}); err != nil {
		t.Fatal(err)
	}
	fake.Advance(59 * time.Second)
	resp, err := c.Refresh(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !resp.ChatEnded || resp.StatusCode != 0 || len(resp.Messages) != 5 {
		t.Fatalf("refresh of a closed chat: %+v", resp)
	}
	_, err = c.Send(ctx, "anyone?", nil)
	var ae *chatv2.APIError
	if !errors.As(err, &ae) || ae.StatusCode != 2 || !ae.ChatEnded {
		t.Fatalf("send to a closed chat: %v", err)
	}
	sub, err := c.Subscribe(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	frame, err := sub.Next(ctx)
	if err != nil || !frame.ChatEnded || len(frame.Messages) != 5 {
		t.Fatalf("push on a closed chat: %+v, %v", frame, err)
	}
	sub.Close()
	fake.Advance(2 * time.Second) // past closed-session-grace (60 s): purged
	_, err = c.Refresh(ctx, 1)
	if !errors.As(err, &ae) || !ae.Has(401) || !ae.ChatEnded {
		t.Fatalf("refresh of a purged chat: %v", err)
	}
}

// TestIdlePushSocketDoesNotHoldForever reproduces the attack of issue 12:
// a customer that opens a push socket and then makes no request and sends
// nothing on it (its client still answers pings, as a script's library
// does). The socket does not keep it past flex-disconnect-timeout: it is
// removed (reason 3) and, with no agent, its session closes and its place
// under limit-for-sessions is free again.
func TestIdlePushSocketDoesNotHoldForever(t *testing.T) {
	fake := clock.NewFake(epoch)
	h := startAPI(t, configWith(t, "[settings]\nflex-disconnect-timeout = 10\n[chat]\n_client_timeout = 120\n"), fake, webapi.Options{})
	ctx := ctxT(t)
	t.Run("with an agent", func(t *testing.T) {
		c, s, _ := h.newChat(ctx, "Ann")
		silentSubscribe(t, h, c)
		fake.Advance(9 * time.Second)
		if !present(t, s, c.UserID) {
			t.Fatal("removed before flex-disconnect-timeout")
		}
		fake.Advance(2 * time.Second)
		eventually(t, "the idle customer to be removed", func() bool { return !present(t, s, c.UserID) })
		checkRemovedForInactivity(t, s, c)
	})
	t.Run("alone in the queue", func(t *testing.T) {
		c, _, err := h.client.RequestChat(ctx, "customer-support", chatv2.ChatRequest{Nickname: "Bob"})
		if err != nil {
			t.Fatal(err)
		}
		s, err := h.engine.Get(c.ID)
		if err != nil {
			t.Fatal(err)
		}
		silentSubscribe(t, h, c)
		alive := h.engine.Alive()
		fake.Advance(11 * time.Second)
		eventually(t, "the idle customer's session to close", func() bool { return s.State() != chat.Alive })
		if n := h.engine.Alive(); n != alive-1 {
			t.Fatalf("%d sessions alive after the close, want %d: the slot was not freed", n, alive-1)
		}
	})
}

// silentSubscribe opens c's push socket from a client that sends no
// keepalives by itself, reads the first frame (the socket is then
// attached) and keeps reading, as a live or scripted client does (and so
// answers pings).
func silentSubscribe(t *testing.T, h *harness, c *chatv2.Chat) *chatv2.Subscription {
	t.Helper()
	ctx := ctxT(t)
	quiet := chatv2.New(h.base, chatv2.Options{KeepAlive: -1}).Resume("customer-support", c.ID, c.UserID, c.SecureKey, c.Alias())
	sub, err := quiet.Subscribe(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Close() })
	if _, err := sub.Next(ctx); err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			if _, err := sub.Next(ctx); err != nil {
				return
			}
		}
	}()
	return sub
}

// keepalive sends one keepalive frame and waits until the server has
// counted it as the customer's activity at now.
func keepalive(t *testing.T, sub *chatv2.Subscription, s *chat.Session, userID string, now time.Time) {
	t.Helper()
	if err := sub.KeepAlive(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the keepalive to count", func() bool {
		p, err := s.Participant(userID)
		return err == nil && !p.LastActivity.Before(now)
	})
}
