package server

import (
	"context"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/config"
)

// sessionBounds maps [protection]'s per-session options onto the engine.
func sessionBounds(p config.Protection) chat.Bounds {
	return chat.Bounds{
		MaxEvents: p.SessionMaxMessages,
		MaxBytes:  p.SessionMaxBytes,
		Rate:      float64(p.PartySendRate),
		Burst:     p.PartySendBurst,
	}
}

// longPollAllowance is added to write-timeout for every answer, since the
// customer API's long poll may wait this long before it writes (its
// MaxWait default).
const longPollAllowance = 30 * time.Second

// withDeadlines bounds every request of a listener: its body must arrive
// within body-timeout of the handler starting plus one second for every
// body-min-rate bytes received so far (so a client that stops sending, or
// trickles slower than the minimum rate, is cut off, while a large upload
// that keeps making progress is not), and its answer must be written
// within write-timeout (plus the long-poll allowance) of the handler
// starting or, for a request whose body was read to its end a second or
// more after the start, of that end.
// The read deadline is lifted once the body has been read to its end, so
// that it does not cut off a handler that goes on streaming (net/http's
// background read would otherwise see it fire and cancel the request). A
// WebSocket upgrade clears both (net/http does on hijack), and a stream
// that sets its own per-write deadline replaces the write one. now is the
// wall clock (net deadlines run on it); tests inject their own.
func withDeadlines(h http.Handler, p config.Protection, now func() time.Time) http.Handler {
	body, write := p.BodyTimeout, p.WriteTimeout+longPollAllowance
	if p.WriteTimeout <= 0 {
		write = 0
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// net/http's own writer sets deadlines directly; anything else
		// (a wrapper) through a ResponseController, which unwraps it.
		rc, ok := w.(connDeadlines)
		if !ok {
			rc = http.NewResponseController(w)
		}
		t := now()
		var db *deadlineBody
		if body > 0 && r.Body != nil && r.Body != http.NoBody {
			if rc.SetReadDeadline(t.Add(body)) == nil {
				db = &deadlineBody{ReadCloser: r.Body, rc: rc, now: now, start: t, grace: body,
					rate: int64(p.BodyMinRate), set: t.Add(body), write: write}
				r.Body = db
			}
		}
		if write > 0 {
			rc.SetWriteDeadline(t.Add(write))
		}
		h.ServeHTTP(w, r)
		if db != nil && r.Body == db {
			// After the handler net/http looks at the request's body to
			// discard what is left of it; given its own body back, closed
			// once read to its end, it has nothing to discard (no copy and
			// no read per request).
			r.Body = db.ReadCloser
			if db.eof.Load() {
				db.ReadCloser.Close()
			}
		}
	})
}

// connDeadlines sets a request's connection deadlines: net/http's
// ResponseWriter and http.ResponseController both do.
type connDeadlines interface {
	SetReadDeadline(time.Time) error
	SetWriteDeadline(time.Time) error
}

// deadlineBody moves the read deadline on as the body arrives (by one
// second per rate bytes) and lifts it when the body has been read to EOF,
// when the write deadline starts again from that moment.
type deadlineBody struct {
	io.ReadCloser
	rc    connDeadlines
	now   func() time.Time
	start time.Time     // the handler's start
	grace time.Duration // body-timeout
	rate  int64         // body-min-rate; 0: the deadline does not move
	write time.Duration // write deadline from the body's end; 0: none
	got   int64         // bytes read so far
	set   time.Time     // the read deadline last set
	done  bool          // EOF seen, deadline lifted
	// eof is done for the middleware, which looks after the handler (a
	// reverse proxy's transport may still be reading then).
	eof atomic.Bool
}

// minDeadlineStep is how far the earned deadline must pass the one set
// before it is moved (a deadline is not reset on every small read).
const minDeadlineStep = time.Second

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if b.done {
		return n, err
	}
	b.got += int64(n)
	switch {
	case err == io.EOF:
		b.done = true
		b.eof.Store(true)
		b.rc.SetReadDeadline(time.Time{})
		// A body in within a second of the start (nearly every one) keeps
		// the write deadline set at the start: it is at most that second
		// short of write-timeout (plus the long-poll allowance) from the
		// body's end, and a deadline less to set on every request.
		if now := b.now(); b.write > 0 && now.Sub(b.start) >= minDeadlineStep {
			b.rc.SetWriteDeadline(now.Add(b.write))
		}
	case n > 0 && b.rate > 0:
		if dl := b.deadline(); dl.Sub(b.set) >= minDeadlineStep {
			b.set = dl
			b.rc.SetReadDeadline(dl)
		}
	}
	return n, err
}

// deadline is when the body must have arrived by what has arrived so far.
func (b *deadlineBody) deadline() time.Time {
	earned := time.Duration(float64(b.got) / float64(b.rate) * float64(time.Second))
	return b.start.Add(b.grace + earned)
}

// httpGrace is how long Shutdown lets in-flight requests finish: 3 s, or
// a third of what ctx leaves when that is less.
func httpGrace(ctx context.Context) time.Duration {
	g := 3 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		g = min(g, time.Until(dl)/3)
	}
	return max(g, 10*time.Millisecond)
}
