package webapi_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/confab/confab/client/chatv2"
	"github.com/confab/confab/internal/api/webapi"
	"github.com/confab/confab/internal/chat"
)

// TestResumeWithoutGap reconnects a subscriber, and a poller, from the
// position its last answer gave while the agent keeps writing: over all
// connections each event arrives once, in order, none missing.
func TestResumeWithoutGap(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			h := startNode(t, nil, nil)
			ctx := ctxT(t)
			c, s, agent := h.newChat(ctx, "Ann")
			var seen []chatv2.Message
			pos := 1
			for round := 0; round < 4; round++ {
				r, err := tr.open(ctx, c, pos)
				if err != nil {
					t.Fatal(err)
				}
				for k := 0; k < 3; k++ {
					text := fmt.Sprintf("r%d m%d", round, k)
					durable(t)(s.Send(agent.UserID, chat.Msg{Text: text}))
					for !hasMessage(seen, text) {
						msgs, _, err := r.next(ctx)
						if err != nil {
							t.Fatal(err)
						}
						seen = append(seen, msgs...)
					}
				}
				r.close()
				pos = seen[len(seen)-1].Index + 1
				// Written while nobody is connected.
				durable(t)(s.Send(agent.UserID, chat.Msg{Text: fmt.Sprintf("r%d offline", round)}))
			}
			if _, err := c.Disconnect(ctx); err != nil {
				t.Fatal(err)
			}
			r, err := tr.open(ctx, c, pos)
			if err != nil {
				t.Fatal(err)
			}
			rest, err := collect(ctx, r)
			r.close()
			if err != nil {
				t.Fatal(err)
			}
			seen = append(seen, rest...)
			g, w := summary(seen), visible(s, c.UserID)
			if fmt.Sprint(g) != fmt.Sprint(w) {
				t.Fatalf("across reconnections the customer saw\n%v\nwant\n%v", g, w)
			}
		})
	}
}

func hasMessage(msgs []chatv2.Message, text string) bool {
	for _, m := range msgs {
		if m.Text == text {
			return true
		}
	}
	return false
}

// TestResync checks a subscriber more than MaxBacklog events behind: it
// gets a resync frame naming its index and close code 4008, catches up
// with refresh and subscribes again without a gap.
func TestResync(t *testing.T) {
	h := startAPI(t, nil, nil, webapi.Options{MaxBacklog: 5, MaxBatch: 4})
	ctx := ctxT(t)
	c, s, agent := h.newChat(ctx, "Ann")
	for k := 0; k < 8; k++ {
		durable(t)(s.Send(agent.UserID, chat.Msg{Text: fmt.Sprint("m", k)}))
	}
	// 10 events; from index 3 there are 8 pending, more than 5.
	sub, err := c.Subscribe(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	_, err = sub.Next(ctx)
	var re *chatv2.ResyncError
	if !errors.As(err, &re) || re.From != 3 || sub.Position() != 3 {
		t.Fatalf("Next = %v, want a resync from 3", err)
	}
	var ce *chatv2.ClosedError
	if _, err := sub.Next(ctx); !errors.As(err, &ce) || ce.Code != int(webapi.CloseResync) {
		t.Fatalf("after the resync frame: %v, want close %d", err, webapi.CloseResync)
	}
	sub.Close()
	// Catch up with refresh, 4 events an answer (MaxBatch).
	var seen []chatv2.Message
	pos := re.From
	for {
		resp, err := c.Refresh(ctx, pos)
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, resp.Messages...)
		if resp.NextPosition == pos {
			break
		}
		if len(resp.Messages) > 4 {
			t.Fatalf("%d messages in one answer, MaxBatch is 4", len(resp.Messages))
		}
		pos = resp.NextPosition
	}
	sub, err = c.Subscribe(ctx, pos)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if first, err := sub.Next(ctx); err != nil || len(first.Messages) != 0 {
		t.Fatalf("first frame after catching up: %+v, %v", first, err)
	}
	durable(t)(s.Send(agent.UserID, chat.Msg{Text: "live"}))
	frame, err := sub.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	seen = append(seen, frame.Messages...)
	var idx []int
	for _, m := range seen {
		idx = append(idx, m.Index)
	}
	if fmt.Sprint(idx) != "[3 4 5 6 7 8 9 10 11]" {
		t.Fatalf("indexes %v", idx)
	}
}

// TestPushShutdown checks that Shutdown closes push connections with 1001
// and the resume index, ends waiting long polls at once, and refuses new
// chats with statusCode 1.
func TestPushShutdown(t *testing.T) {
	h := startAPI(t, nil, nil, webapi.Options{})
	ctx := ctxT(t)
	c, _, _ := h.newChat(ctx, "Ann")
	sub, err := c.Subscribe(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if _, err := sub.Next(ctx); err != nil {
		t.Fatal(err)
	}
	polled := make(chan error, 1)
	go func() {
		_, err := c.LongPoll(ctx, 3, 30*time.Second)
		polled <- err
	}()
	eventually(t, "the long poll to wait", func() bool { return webapi.Held(h.api, c.ID) == 2 })
	next := make(chan error, 1)
	go func() { // a live client is reading when the server goes away
		_, err := sub.Next(ctx)
		next <- err
	}()
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	h.api.Shutdown(sctx)
	var ce *chatv2.ClosedError
	if err := <-next; !errors.As(err, &ce) || ce.Code != 1001 || ce.Resume != 3 {
		t.Fatalf("after Shutdown: %v, want close 1001 resuming at 3", err)
	}
	if err := <-polled; err != nil {
		t.Fatalf("long poll at shutdown: %v", err)
	}
	_, _, err = h.client.RequestChat(ctx, "customer-support", chatv2.ChatRequest{Nickname: "Late"})
	var ae *chatv2.APIError
	if !errors.As(err, &ae) || !ae.Temporary() || !ae.Has(503) {
		t.Fatalf("request chat during shutdown: %v", err)
	}
}

// TestPushUnauthorized checks the push channel answers wrong credentials
// like REST does, then closes with 4401.
func TestPushUnauthorized(t *testing.T) {
	h := startNode(t, nil, nil)
	ctx := ctxT(t)
	c, _, _ := h.newChat(ctx, "Ann")
	bad := h.client.Resume(c.Service, c.ID, c.UserID, "wrong", c.Alias())
	sub, err := bad.Subscribe(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	resp, err := sub.Next(ctx)
	var ae *chatv2.APIError
	if !errors.As(err, &ae) || !ae.Has(401) || !resp.ChatEnded || resp.ChatID != "" {
		t.Fatalf("Next = %+v, %v; want the 401 answer", resp, err)
	}
	if _, err := sub.Next(ctx); err != io.EOF {
		t.Fatalf("after the 401 frame: %v", err)
	}
}

// TestPushChatEnds checks the last frame has chatEnded and is followed by a
// normal close.
func TestPushChatEnds(t *testing.T) {
	h := startNode(t, nil, nil)
	ctx := ctxT(t)
	c, s, agent := h.newChat(ctx, "Ann")
	sub, err := c.Subscribe(ctx, 0) // only what happens from now on
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	first, err := sub.Next(ctx)
	if err != nil || len(first.Messages) != 0 || first.NextPosition != 3 {
		t.Fatalf("first frame from 0: %+v, %v", first, err)
	}
	if _, _, err := s.Leave(chat.LeaveRequest{UserID: agent.UserID, After: chat.ForceClose}); err != nil {
		t.Fatal(err)
	}
	var last *chatv2.Response
	for {
		resp, err := sub.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		last = resp
	}
	if last == nil || !last.ChatEnded || last.Messages[len(last.Messages)-1].Type != chatv2.TypeParticipantLeft {
		t.Fatalf("last frame %+v", last)
	}
}
