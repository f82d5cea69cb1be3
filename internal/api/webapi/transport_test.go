package webapi_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/confab/confab/client/chatv2"
	"github.com/confab/confab/internal/chat"
)

// A receiver follows what one customer sees over one transport.
type receiver interface {
	// next returns the next non-empty batch and whether the chat ended.
	next(ctx context.Context) (msgs []chatv2.Message, ended bool, err error)
	close()
}

// transports are the three ways a customer receives events; API tests run
// one body over each (STYLE rule 8).
var transports = []struct {
	name string
	open func(ctx context.Context, c *chatv2.Chat, from int) (receiver, error)
}{
	{"refresh", func(_ context.Context, c *chatv2.Chat, from int) (receiver, error) {
		return &poller{c: c, pos: from}, nil
	}},
	{"longpoll", func(_ context.Context, c *chatv2.Chat, from int) (receiver, error) {
		return &poller{c: c, pos: from, wait: 10 * time.Second}, nil
	}},
	{"websocket", func(ctx context.Context, c *chatv2.Chat, from int) (receiver, error) {
		sub, err := c.Subscribe(ctx, from)
		if err != nil {
			return nil, err
		}
		return &subscriber{sub: sub}, nil
	}},
}

// pollInterval is how often a short-polling receiver asks when nothing is
// new: far faster than the widget (0.5–3 s), slow enough not to starve
// the node under the race detector.
const pollInterval = 25 * time.Millisecond

// poller refreshes from its position, as the widget does; with wait set it
// uses the long-poll extension instead of polling on an interval.
type poller struct {
	c    *chatv2.Chat
	pos  int
	wait time.Duration
}

func (p *poller) next(ctx context.Context) ([]chatv2.Message, bool, error) {
	for {
		var resp *chatv2.Response
		var err error
		if p.wait > 0 {
			resp, err = p.c.LongPoll(ctx, p.pos, p.wait)
		} else {
			resp, err = p.c.Refresh(ctx, p.pos)
		}
		if err != nil {
			return nil, false, err
		}
		if len(resp.Messages) > 0 {
			// The widget's rule: ask next for the highest index seen + 1.
			p.pos = resp.Messages[len(resp.Messages)-1].Index + 1
		}
		if len(resp.Messages) > 0 || resp.ChatEnded {
			return resp.Messages, resp.ChatEnded, nil
		}
		if p.wait == 0 {
			// A short-polling client polls on an interval; this is that
			// interval, not a wait for a timer under test.
			select {
			case <-time.After(pollInterval):
			case <-ctx.Done():
				return nil, false, ctx.Err()
			}
		}
	}
}

func (p *poller) close() {}

type subscriber struct{ sub *chatv2.Subscription }

func (s *subscriber) next(ctx context.Context) ([]chatv2.Message, bool, error) {
	for {
		resp, err := s.sub.Next(ctx)
		if err != nil {
			return nil, false, err
		}
		if len(resp.Messages) > 0 || resp.ChatEnded {
			return resp.Messages, resp.ChatEnded, nil
		}
	}
}

func (s *subscriber) close() { s.sub.Close() }

// collect reads until the chat ends and checks the indexes strictly
// increase (each event once, in order).
func collect(ctx context.Context, r receiver) ([]chatv2.Message, error) {
	var all []chatv2.Message
	last := 0
	for {
		msgs, ended, err := r.next(ctx)
		if err != nil {
			return all, err
		}
		for _, m := range msgs {
			if m.Index <= last {
				return all, fmt.Errorf("index %d after %d: an event repeated or out of order", m.Index, last)
			}
			last = m.Index
			all = append(all, m)
		}
		if ended {
			return all, nil
		}
	}
}

// visible is the ground truth: what the engine says the customer may see,
// as type, party type and text per index.
func visible(s *chat.Session, userID string) []string {
	evs, _, _, err := s.Read(userID, 0, nil)
	if err != nil {
		return []string{err.Error()}
	}
	var out []string
	for _, ev := range evs {
		if ev.Kind == chat.Notice && ev.Notice == chat.SysCommand {
			continue // none sent in these tests
		}
		out = append(out, fmt.Sprintf("%d %s", ev.ID(), ev.Text))
	}
	return out
}

func summary(msgs []chatv2.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = fmt.Sprintf("%d %s", m.Index, m.Text)
	}
	return out
}

func describe(msgs []chatv2.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = fmt.Sprintf("%s/%s/%s/%s", m.Type, m.From.Type, m.From.Nickname, m.Text)
	}
	return out
}

// TestEndToEnd runs a whole chat over real HTTP and WebSocket against a
// node: request chat, the agent (driven through the engine) and the
// customer talk, hidden traffic flows beside it, the customer disconnects.
// The same body runs over every transport.
func TestEndToEnd(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			h := startNode(t, nil, nil)
			ctx := ctxT(t)
			c, _, err := h.client.RequestChat(ctx, "customer-support", chatv2.ChatRequest{Nickname: "Ann", Subject: "help"})
			if err != nil {
				t.Fatal(err)
			}
			r, err := tr.open(ctx, c, 1)
			if err != nil {
				t.Fatal(err)
			}
			defer r.close()
			got := make(chan []chatv2.Message, 1)
			errc := make(chan error, 1)
			go func() {
				msgs, err := collect(ctx, r)
				got <- msgs
				errc <- err
			}()

			ok := durable(t)
			s, _ := h.engine.Get(c.ID)
			agent, _, err := s.Join(chat.JoinRequest{Nick: "Anna", Type: chat.Agent, Protocol: chat.Basic})
			if err != nil {
				t.Fatal(err)
			}
			sup, _, err := s.Join(chat.JoinRequest{Nick: "Sam", Type: chat.Supervisor, Visibility: chat.VisVIP, Protocol: chat.Basic})
			if err != nil {
				t.Fatal(err)
			}
			ok(s.Send(agent.UserID, chat.Msg{Text: "Hello, how can I help?"}))
			ok(s.Send(agent.UserID, chat.Msg{Text: "INT coaching", Visibility: chat.VisInt}))
			ok(s.Send(sup.UserID, chat.Msg{Text: "VIP monitoring", Visibility: chat.VisVIP}))
			ok(s.Send(agent.UserID, chat.Msg{Text: "DIRECT to supervisor", ReceiverID: sup.UserID}))
			if _, err := c.StartTyping(ctx, "I ne"); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Send(ctx, "I need help", &chatv2.SendOptions{MessageType: "text"}); err != nil {
				t.Fatal(err)
			}
			if _, err := c.StopTyping(ctx); err != nil {
				t.Fatal(err)
			}
			ok(s.Notify(agent.UserID, chat.Note{Type: chat.PushURL, Text: "https://help.example/faq"}))
			ok(s.Notify(agent.UserID, chat.Note{Type: chat.CustomNotice, Text: "custom"}))
			if _, err := c.Disconnect(ctx); err != nil {
				t.Fatal(err)
			}
			msgs, err := <-got, <-errc
			if err != nil {
				t.Fatalf("collect: %v (so far %v)", err, describe(msgs))
			}
			want := []string{
				"ParticipantJoined/Client/Ann/",
				"ParticipantJoined/Agent/Anna/",
				"Message/Agent/Anna/Hello, how can I help?",
				"TypingStarted/Client/Ann/I ne",
				"Message/Client/Ann/I need help",
				"TypingStopped/Client/Ann/",
				"PushUrl/Agent/Anna/https://help.example/faq",
				"CustomNotice/Agent/Anna/custom",
				"ParticipantLeft/Client/Ann/",
			}
			if d := describe(msgs); strings.Join(d, "\n") != strings.Join(want, "\n") {
				t.Errorf("the customer saw\n%s\nwant\n%s", strings.Join(d, "\n"), strings.Join(want, "\n"))
			}
			if g, w := summary(msgs), visible(s, c.UserID); strings.Join(g, "|") != strings.Join(w, "|") {
				t.Errorf("indexes differ from the engine's view:\n got %v\nwant %v", g, w)
			}
			// The agent side saw the customer's words.
			evs, _, _, _ := s.Read(agent.UserID, 0, nil)
			if !hasText(evs, "I need help") {
				t.Error("the agent did not get the customer's message")
			}
		})
	}
}

func hasText(evs []chat.Event, text string) bool {
	for _, ev := range evs {
		if ev.Text == text {
			return true
		}
	}
	return false
}

// durable returns a check for an engine call's results: no error, and the
// change acknowledged as durable.
func durable(t testing.TB) func(chat.Receipt, error) {
	return func(rc chat.Receipt, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		if err := rc.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

// TestConcurrentChats runs 200 chats at once on one node, each customer on
// one of the three transports, agents and customers writing concurrently
// with coaching (INT), monitoring (VIP) and direct traffic mixed in. Every
// customer must see exactly the events the engine says it may see, each
// once and in order, and never a hidden one.
func TestConcurrentChats(t *testing.T) {
	const chats, perSide = 200, 4
	h := startNode(t, nil, nil)
	// A hang guard, not a time goal: 200 chats under -race on a busy 2-core
	// machine can take longer than the other tests' 30 s.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, chats)
	// All 200 customers arrive at once (the semaphore has room for all).
	arriving := make(chan struct{}, chats)
	var ready sync.WaitGroup // every chat started and followed: all 200 live at once
	ready.Add(chats)
	for i := 0; i < chats; i++ {
		tr := transports[i%len(transports)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := runChat(ctx, h, tr.open, i, perSide, arriving, &ready); err != nil {
				errs <- fmt.Errorf("chat %d over %s: %w", i, tr.name, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	n := 0
	for err := range errs {
		if n++; n <= 10 {
			t.Error(err)
		}
	}
}

func runChat(ctx context.Context, h *harness, open func(context.Context, *chatv2.Chat, int) (receiver, error),
	i, perSide int, arriving chan struct{}, ready *sync.WaitGroup) error {
	arriving <- struct{}{}
	c, _, err := h.client.RequestChat(ctx, "customer-support", chatv2.ChatRequest{Nickname: fmt.Sprintf("cust%d", i)})
	<-arriving
	if err != nil {
		ready.Done()
		return err
	}
	r, err := open(ctx, c, 1)
	ready.Done()
	if err != nil {
		return err
	}
	defer r.close()
	ready.Wait()
	type result struct {
		msgs []chatv2.Message
		err  error
	}
	got := make(chan result, 1)
	go func() {
		msgs, err := collect(ctx, r)
		got <- result{msgs, err}
	}()
	s, err := h.engine.Get(c.ID)
	if err != nil {
		return err
	}
	agent, _, err := s.Join(chat.JoinRequest{Nick: "agent", Type: chat.Agent, Protocol: chat.Basic})
	if err != nil {
		return err
	}
	sup, _, err := s.Join(chat.JoinRequest{Nick: "sup", Type: chat.Supervisor, Visibility: chat.VisVIP, Protocol: chat.Basic})
	if err != nil {
		return err
	}
	var side sync.WaitGroup
	side.Add(1)
	agentErr := make(chan error, 1)
	go func() { // the agent side
		defer side.Done()
		for k := 0; k < perSide; k++ {
			for _, m := range []struct {
				from string
				msg  chat.Msg
			}{
				{agent.UserID, chat.Msg{Text: fmt.Sprintf("agent %d", k)}},
				{agent.UserID, chat.Msg{Text: fmt.Sprintf("HIDDEN INT %d", k), Visibility: chat.VisInt}},
				{sup.UserID, chat.Msg{Text: fmt.Sprintf("HIDDEN VIP %d", k), Visibility: chat.VisVIP}},
				{agent.UserID, chat.Msg{Text: fmt.Sprintf("HIDDEN direct %d", k), ReceiverID: sup.UserID}},
			} {
				if _, err := s.Send(m.from, m.msg); err != nil {
					agentErr <- err
					return
				}
			}
		}
	}()
	for k := 0; k < perSide; k++ {
		if _, err := c.Send(ctx, fmt.Sprintf("customer %d", k), &chatv2.SendOptions{ClientMessageID: fmt.Sprint(k)}); err != nil {
			return err
		}
	}
	side.Wait()
	select {
	case err := <-agentErr:
		return err
	default:
	}
	if _, _, err := s.Close(chat.CloseRequest{Reason: chat.RemovedByServer}); err != nil {
		return err
	}
	res := <-got
	if res.err != nil {
		return res.err
	}
	for _, m := range res.msgs {
		if strings.Contains(m.Text, "HIDDEN") {
			return fmt.Errorf("the customer saw hidden traffic: %+v", m)
		}
	}
	g, w := summary(res.msgs), visible(s, c.UserID)
	if strings.Join(g, "|") != strings.Join(w, "|") {
		return fmt.Errorf("saw\n%v\nwant\n%v", g, w)
	}
	// Joins of customer and agent, both sides' messages, and the customer's
	// and agent's departures at the close (the VIP supervisor's is hidden).
	if len(w) != 4+2*perSide {
		return fmt.Errorf("ground truth has %d events, want %d: %v", len(w), 4+2*perSide, w)
	}
	return nil
}
