package chatv2

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/confab/confab/client/internal/wsconn"
)

// maxFrame bounds one push frame the client accepts.
const maxFrame = 16 << 20

// Subscription is an open WebSocket push channel of one chat. Next and Each
// are meant for one goroutine; Close may be called from any.
type Subscription struct {
	conn  *wsconn.Conn
	next  int // index to resume from
	ended bool
	stop  chan struct{} // closed by Close: ends the keepalives
	once  sync.Once
	buf   []byte // the last frame read (reused by Next)

	// The context of the Next calls: one watch per context rather than
	// one per read (a context.AfterFunc registered and removed for every
	// frame). The watch closes the connection only while a Next is
	// reading, as a cancelled read does.
	reading atomic.Bool     // a Next is reading
	wmu     sync.Mutex      // guards the following
	wDone   <-chan struct{} // Done of the watched context
	wStop   func() bool     // ends the watch; nil when none
	wClosed bool            // the subscription is over: no new watch

	// The keepalives: a timer of the runtime's, not a goroutine with a
	// ticker per subscription (a program with thousands of subscriptions
	// keeps no goroutine per socket for them). Its function sends one frame
	// and sets the timer for the next period; it runs on a goroutine of its
	// own only while it sends.
	kaMu  sync.Mutex  // guards the following
	kaT   *time.Timer // nil when no keepalives
	kaDue time.Time   // when the pending keepalive is due
}

// Subscribe opens the push channel, asking for the events from index from
// on (1: the whole transcript; 0: only what happens from now on). The first
// frame, with what is already there, arrives at once. With Options.Nodes
// a node that cannot be reached, or answers the handshake 502 or 503, is
// left for the next one.
func (ch *Chat) Subscribe(ctx context.Context, from int) (*Subscription, error) {
	for tries := 1; ; tries++ {
		at := ch.c.cur.Load()
		sub, status, err := ch.subscribeAt(ctx, ch.c.bases[int(at)%len(ch.c.bases)], from)
		// With Options.Nodes, a node that cannot be reached or answers the
		// handshake 502/503 is left for the next, as calls do.
		moveOn := err != nil && (status == 0 || status == http.StatusBadGateway || status == http.StatusServiceUnavailable)
		if err == nil || tries >= len(ch.c.bases) || !moveOn || ctx.Err() != nil {
			return sub, err
		}
		ch.c.cur.CompareAndSwap(at, at+1)
	}
}

// subscribeAt dials the push channel at one node's base URL; status is the
// handshake's HTTP status when the server answered one.
func (ch *Chat) subscribeAt(ctx context.Context, base string, from int) (*Subscription, int, error) {
	u, err := url.Parse(base + ch.path("ws"))
	if err != nil {
		return nil, -1, fmt.Errorf("chatv2: %w", err)
	}
	switch u.Scheme {
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	}
	q := url.Values{}
	q.Set("userId", ch.UserID)
	q.Set("secureKey", ch.SecureKey)
	q.Set("alias", ch.Alias())
	q.Set("transcriptPosition", strconv.Itoa(from))
	u.RawQuery = q.Encode()
	h := http.Header{}
	if ch.c.apiKey != "" {
		h.Set("apikey", ch.c.apiKey)
	}
	if ch.c.auth != "" {
		h.Set("Authorization", ch.c.auth)
	}
	conn, hr, err := wsconn.Dial(ctx, u.String(), ch.c.hc, h)
	status := 0
	if hr != nil {
		status = hr.StatusCode
	}
	if err != nil {
		return nil, status, fmt.Errorf("chatv2: subscribe to chat %s: %w", ch.ID, err)
	}
	conn.SetReadLimit(maxFrame)
	s := &Subscription{conn: conn, next: from, stop: make(chan struct{})}
	if ch.c.alive > 0 {
		s.startKeepAlive(ch.c.alive)
	}
	return s, status, nil
}

// keepaliveFrame is what a keepalive sends; the server ignores its content.
var keepaliveFrame = []byte("{}")

// KeepAlive sends one keepalive frame now. The subscription sends them by
// itself every Options.KeepAlive; an open socket alone is not activity.
func (s *Subscription) KeepAlive(ctx context.Context) error {
	if err := s.conn.Write(ctx, websocket.MessageText, keepaliveFrame); err != nil {
		return fmt.Errorf("chatv2: push keepalive: %w", err)
	}
	return nil
}

// startKeepAlive sends a keepalive frame every period from now on, as a
// ticker would (the next is due a period after the previous was due, not
// after it was sent), until the subscription stops or a send fails.
func (s *Subscription) startKeepAlive(every time.Duration) {
	s.kaMu.Lock()
	defer s.kaMu.Unlock()
	s.kaDue = time.Now().Add(every)
	s.kaT = time.AfterFunc(every, func() { s.keepAliveDue(every) })
}

// keepAliveDue sends the keepalive that is due and sets the timer for the
// next one.
func (s *Subscription) keepAliveDue(every time.Duration) {
	select {
	case <-s.stop:
		return
	default:
	}
	ctx, cancel := context.WithTimeout(context.Background(), every)
	err := s.KeepAlive(ctx)
	cancel()
	if err != nil {
		return // the connection is gone; Next reports why
	}
	s.kaMu.Lock()
	defer s.kaMu.Unlock()
	select {
	case <-s.stop: // stopped while sending: stopKeepAlive found no timer to stop
		return
	default:
	}
	now := time.Now()
	s.kaDue = s.kaDue.Add(every)
	if !s.kaDue.After(now) { // late by a period or more: a ticker drops the ticks missed
		s.kaDue = now.Add(every - now.Sub(s.kaDue)%every)
	}
	s.kaT.Reset(s.kaDue.Sub(now))
}

// stopKeepAlive ends the keepalives (once).
func (s *Subscription) stopKeepAlive() {
	s.once.Do(func() {
		s.kaMu.Lock()
		close(s.stop)
		if s.kaT != nil {
			s.kaT.Stop()
		}
		s.kaMu.Unlock()
	})
}

// Position returns the index to subscribe from to continue where this
// subscription stopped.
func (s *Subscription) Position() int { return s.next }

// Next waits for the next frame and returns it. After the frame whose
// ChatEnded is true it returns io.EOF. It returns an *APIError when the
// credentials were refused, a *ResyncError when the subscriber fell too far
// behind, and a *ClosedError when the server closed the channel otherwise.
func (s *Subscription) Next(ctx context.Context) (*Response, error) {
	if s.ended {
		return nil, io.EOF
	}
	s.watch(ctx)
	s.reading.Store(true)
	var data []byte
	err := ctx.Err()
	if err == nil {
		_, data, err = s.conn.Read(s.buf[:0])
		s.buf = data
	} else {
		s.conn.CloseNow()
	}
	s.reading.Store(false)
	return s.frame(ctx, data, err)
}

// Each reads the frames as they arrive and calls fn with each one on the
// calling goroutine, until fn returns false (Each returns nil) or a frame
// or error ends the loop as it would end Next: Each returns what Next
// would have returned then (io.EOF after the frame whose ChatEnded is
// true, which fn saw first; an *APIError with its frame, which fn did
// not see; a *ResyncError, a *ClosedError, or the end of ctx). resp is
// only valid until fn returns. It is Next in a loop, cheaper for the
// program: between frames it waits for the socket without a read that
// finds nothing. fn must not close the subscription (Close from another
// goroutine waits until fn returns).
func (s *Subscription) Each(ctx context.Context, fn func(resp *Response) bool) (*Response, error) {
	if s.ended {
		return nil, io.EOF
	}
	s.watch(ctx)
	s.reading.Store(true)
	var last *Response
	var ferr error
	var resp Response
	err := ctx.Err()
	if err == nil {
		err = s.conn.ReadEach(s.buf[:0], func(_ websocket.MessageType, data []byte) bool {
			resp = Response{}
			r, err := s.decoded(data, &resp)
			if err != nil {
				last, ferr = r, err
				return false
			}
			if !fn(r) {
				return false
			}
			if s.ended {
				ferr = io.EOF
				return false
			}
			return ctx.Err() == nil
		})
	} else {
		s.conn.CloseNow()
	}
	s.reading.Store(false)
	if err == nil && ferr == nil && ctx.Err() != nil {
		return nil, fmt.Errorf("chatv2: read push frame: %w", ctx.Err())
	}
	if err == nil {
		return last, ferr
	}
	return s.frame(ctx, nil, err)
}

// frame turns a Read's outcome into Next's.
func (s *Subscription) frame(ctx context.Context, data []byte, err error) (*Response, error) {
	if err != nil {
		s.unwatch() // the connection is over
	}
	if err != nil && ctx.Err() != nil {
		s.stopKeepAlive()
		return nil, fmt.Errorf("chatv2: read push frame: %w", ctx.Err())
	}
	if err != nil {
		s.stopKeepAlive() // the connection is over (a cancelled Read closes it too)
		var ce websocket.CloseError
		if errors.As(err, &ce) {
			if ce.Code == websocket.StatusNormalClosure {
				s.ended = true
				return nil, io.EOF
			}
			return nil, &ClosedError{Code: int(ce.Code), Reason: ce.Reason, Resume: s.next}
		}
		return nil, fmt.Errorf("chatv2: read push frame: %w", err)
	}
	var resp Response
	return s.decoded(data, &resp)
}

// decoded decodes a push frame into resp and moves the position.
func (s *Subscription) decoded(data []byte, resp *Response) (*Response, error) {
	if err := decodeResponse(data, resp, false); err != nil {
		return nil, fmt.Errorf("chatv2: decode push frame: %w", err)
	}
	switch {
	case resp.ResyncFrom > 0:
		s.next = resp.ResyncFrom
		return nil, &ResyncError{From: resp.ResyncFrom}
	case resp.StatusCode != 0:
		s.ended = true
		return resp, &APIError{HTTPStatus: http.StatusOK, StatusCode: resp.StatusCode, ChatEnded: resp.ChatEnded, Problems: resp.Errors}
	}
	if resp.NextPosition > 0 {
		s.next = resp.NextPosition
	}
	s.ended = resp.ChatEnded
	return resp, nil
}

// watch makes a cancellation of ctx close the connection while Next
// reads. The watch of the previous Next is kept when ctx is the same (the
// same Done channel), and replaced otherwise.
func (s *Subscription) watch(ctx context.Context) {
	done := ctx.Done()
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if done == s.wDone || s.wClosed {
		return
	}
	if s.wStop != nil {
		s.wStop()
		s.wStop = nil
	}
	s.wDone = done
	if done != nil {
		s.wStop = context.AfterFunc(ctx, func() {
			if s.reading.Load() {
				s.conn.CloseNow()
			}
		})
	}
}

// unwatch ends the watch for good (the subscription is over), so that a
// long-lived context does not keep it.
func (s *Subscription) unwatch() {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.wClosed = true
	if s.wStop != nil {
		s.wStop()
		s.wStop = nil
	}
}

// Close closes the channel.
func (s *Subscription) Close() error {
	s.stopKeepAlive()
	s.unwatch()
	err := s.conn.Close(websocket.StatusNormalClosure, "")
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("chatv2: close push channel: %w", err)
	}
	return nil
}
