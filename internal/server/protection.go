package server

import (
	"context"
	"io"
	"net/http"
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
// within body-timeout of the handler starting, and its answer must be
// written within write-timeout (plus the long-poll allowance). The read
// deadline is lifted once the body has been read to its end, so that it
// does not cut off a handler that goes on streaming (net/http's
// background read would otherwise see it fire and cancel the request). A
// WebSocket upgrade clears both (net/http does on hijack), and a stream
// that sets its own per-write deadline replaces the write one.
func withDeadlines(h http.Handler, p config.Protection) http.Handler {
	body, write := p.BodyTimeout, p.WriteTimeout+longPollAllowance
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		now := time.Now()
		if body > 0 && r.Body != nil && r.Body != http.NoBody {
			if rc.SetReadDeadline(now.Add(body)) == nil {
				r.Body = &deadlineBody{ReadCloser: r.Body, rc: rc}
			}
		}
		if p.WriteTimeout > 0 {
			rc.SetWriteDeadline(now.Add(write))
		}
		h.ServeHTTP(w, r)
	})
}

// deadlineBody lifts the read deadline when the body has been read to EOF.
type deadlineBody struct {
	io.ReadCloser
	rc     *http.ResponseController
	lifted bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF && !b.lifted {
		b.lifted = true
		b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
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
