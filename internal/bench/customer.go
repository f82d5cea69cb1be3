package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/confab/confab/client/chatv2"
)

// Customer modes (--customers).
const (
	ModeWS       = "ws"       // WebSocket push: one reader goroutine per customer
	ModeLongPoll = "longpoll" // refresh with waitSeconds: one goroutine per customer
	ModePoll     = "poll"     // short polling every --poll-interval, by the scheduler
)

// customer is one simulated customer: a chat through the Chat API v2 client,
// its tracker party and its outgoing stream.
type customer struct {
	e     *env
	chat  *chatv2.Chat
	party *Party
	out   *Stream

	// next is the transcript index to read from. It is used by one
	// goroutine at a time: the receive loop, or the scenario when there is
	// no loop (dormant customers).
	next int

	ended    chan struct{} // closed when the customer saw chatEnded
	endOnce  sync.Once
	stopRecv context.CancelFunc // stops the receive loop; nil when none
	recvDone chan struct{}      // closed when the receive loop has returned
	closed   bool               // counted as a closed session
}

// newCustomer requests a chat. The customer is not receiving yet.
func (e *env) newCustomer(ctx context.Context, ts *TSession, n int64, email bool) (*customer, error) {
	req := chatv2.ChatRequest{
		Nickname: "customer-" + strconv.FormatInt(n, 10),
		Subject:  "bench " + e.o.Scenario,
		UserData: map[string]string{"BenchRun": e.runID},
	}
	if email {
		req.EmailAddress = "bench-" + e.runID + "-" + strconv.FormatInt(n, 10) + "@example.com"
	}
	chat, _, err := e.chat.RequestChat(ctx, e.service, req)
	if err != nil {
		e.m.Error("customer.request_chat", err)
		return nil, fmt.Errorf("request chat: %w", err)
	}
	e.m.SessionOpened()
	c := &customer{e: e, chat: chat, next: 1, ended: make(chan struct{})}
	c.party = ts.AddParty(RoleCustomer)
	c.out = ts.NewStream(c.party, VisAll)
	return c, nil
}

// id returns the chat id (the session id, and the interaction id).
func (c *customer) id() string { return c.chat.ID }

func (c *customer) markEnded() { c.endOnce.Do(func() { close(c.ended) }) }

// isEnded reports whether the customer saw its chat end.
func (c *customer) isEnded() bool {
	select {
	case <-c.ended:
		return true
	default:
		return false
	}
}

// handle feeds an answer's messages to the tracker and moves the position.
func (c *customer) handle(resp *chatv2.Response) {
	if resp == nil {
		return
	}
	for i := range resp.Messages {
		m := &resp.Messages[i]
		if m.Type == chatv2.TypeMessage {
			c.party.Receive(m.Text)
		}
		if m.Index >= c.next {
			c.next = m.Index + 1
		}
	}
	if resp.NextPosition > c.next {
		c.next = resp.NextPosition
	}
	if resp.ChatEnded {
		c.markEnded()
	}
}

// refreshOnce reads what is new since the customer's position.
func (c *customer) refreshOnce(ctx context.Context) error {
	resp, err := c.chat.Refresh(ctx, c.next)
	c.handle(resp)
	if err != nil {
		var ae *chatv2.APIError
		if errors.As(err, &ae) && ae.ChatEnded {
			c.markEnded()
			return nil
		}
		c.e.m.Error("customer.refresh", err)
		return fmt.Errorf("refresh chat %s: %w", c.id(), err)
	}
	return nil
}

// startReceiving starts the customer's receive loop in the run's mode.
func (c *customer) startReceiving(ctx context.Context) error {
	rctx, cancel := context.WithCancel(ctx)
	c.stopRecv = cancel
	c.recvDone = make(chan struct{})
	switch c.e.o.Customers {
	case ModeWS:
		sub, err := c.chat.Subscribe(rctx, c.next)
		if err != nil {
			cancel()
			close(c.recvDone)
			c.e.m.Error("customer.ws_subscribe", err)
			return fmt.Errorf("subscribe chat %s: %w", c.id(), err)
		}
		go c.wsLoop(rctx, sub)
	case ModeLongPoll:
		go c.longPollLoop(rctx)
	default:
		c.e.poller(ctx).add(c.e.o.PollInterval, func(_ context.Context) bool {
			select {
			case <-rctx.Done():
				close(c.recvDone)
				return false
			default:
			}
			// A poll is bounded by its own timeout so a stuck request cannot
			// hold a scheduler worker for the rest of the run.
			pctx, pcancel := context.WithTimeout(rctx, 10*time.Second)
			err := c.refreshOnce(pctx)
			pcancel()
			if c.isEnded() || (err != nil && rctx.Err() != nil) {
				close(c.recvDone)
				return false
			}
			return true
		})
	}
	return nil
}

func (c *customer) wsLoop(ctx context.Context, sub *chatv2.Subscription) {
	defer close(c.recvDone)
	defer func() {
		if sub != nil { // nil after a failed resubscribe (below)
			sub.Close()
		}
	}()
	retries := 0
	for {
		// Each delivers the frames on this goroutine and waits for the
		// socket between them without a read that finds nothing.
		resp, err := sub.Each(ctx, func(resp *chatv2.Response) bool {
			c.handle(resp)
			retries = 0
			return true
		})
		if err == nil {
			continue
		}
		if errors.Is(err, io.EOF) {
			c.markEnded()
			return
		}
		if ctx.Err() != nil {
			return
		}
		var ae *chatv2.APIError
		if errors.As(err, &ae) {
			c.handle(resp)
			if ae.ChatEnded {
				c.markEnded()
			} else {
				c.e.m.Error("customer.ws", err)
			}
			return
		}
		var rs *chatv2.ResyncError
		var ce *chatv2.ClosedError
		switch {
		case errors.As(err, &rs):
			c.e.m.Error("customer.ws_resync", err)
			c.next = rs.From
			if err := c.refreshOnce(ctx); err != nil {
				return
			}
		case errors.As(err, &ce):
			c.e.m.Error("customer.ws_closed", err)
		default:
			c.e.m.Error("customer.ws", err)
			c.next = max(c.next, sub.Position())
		}
		if c.isEnded() || retries >= 3 {
			return
		}
		retries++
		sub.Close()
		time.Sleep(time.Duration(retries) * 50 * time.Millisecond)
		sub, err = c.chat.Subscribe(ctx, c.next)
		if err != nil {
			if ctx.Err() == nil {
				c.e.m.Error("customer.ws_subscribe", err)
			}
			return
		}
	}
}

func (c *customer) longPollLoop(ctx context.Context) {
	defer close(c.recvDone)
	for ctx.Err() == nil && !c.isEnded() {
		resp, err := c.chat.LongPoll(ctx, c.next, 20*time.Second)
		c.handle(resp)
		if err != nil {
			var ae *chatv2.APIError
			if errors.As(err, &ae) && ae.ChatEnded {
				c.markEnded()
				return
			}
			if ctx.Err() != nil {
				return
			}
			c.e.m.Error("customer.longpoll", err)
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// stopReceiving stops the receive loop and waits for it.
func (c *customer) stopReceiving() {
	if c.stopRecv == nil {
		return
	}
	c.stopRecv()
	if c.e.o.Customers == ModePoll {
		// A poll job notices at its next turn; the scheduler may already be
		// stopped, so do not wait for it.
		return
	}
	<-c.recvDone
}

// send numbers and sends the customer's next message, retrying a failed
// attempt with the same client message id (the server answers a retry
// without adding a second message).
func (c *customer) send(ctx context.Context) error {
	seq, text := c.out.Next()
	id := "b" + strconv.FormatUint(uint64(c.out.ID()), 10) + "-" + strconv.FormatUint(uint64(seq), 10)
	opts := &chatv2.SendOptions{MessageType: "text", ClientMessageID: id}
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if attempt > 0 {
			time.Sleep(time.Duration(attempt) * 100 * time.Millisecond)
		}
		_, err = c.chat.Send(ctx, text, opts)
		if err == nil {
			c.out.Ack(seq)
			return nil
		}
		var ae *chatv2.APIError
		if ctx.Err() != nil || (errors.As(err, &ae) && !ae.Temporary()) {
			break
		}
	}
	c.e.m.Error("customer.send", err)
	return fmt.Errorf("send on chat %s: %w", c.id(), err)
}

// disconnect makes the customer leave.
func (c *customer) disconnect(ctx context.Context) error {
	resp, err := c.chat.Disconnect(ctx)
	if err != nil {
		var ae *chatv2.APIError
		if errors.As(err, &ae) && ae.ChatEnded {
			return nil
		}
		c.e.m.Error("customer.disconnect", err)
		return fmt.Errorf("disconnect chat %s: %w", c.id(), err)
	}
	_ = resp
	return nil
}

// waitEnded waits until the customer has seen its chat end.
func (c *customer) waitEnded(ctx context.Context, timeout time.Duration) bool {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-c.ended:
		return true
	case <-t.C:
		return false
	case <-ctx.Done():
		return false
	}
}
