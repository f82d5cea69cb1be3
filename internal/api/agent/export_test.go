package agent

// QueueState returns, for each open socket, the frames counted in its queue
// (with watchers' reservations), the bytes queued and the frames in the
// channel: the backpressure tests print it when they fail.
func (h *Handler) QueueState() (out [][3]int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.conns {
		out = append(out, [3]int64{c.backlog.queued.Load(), c.backlog.bytes.Load(), int64(len(c.out))})
	}
	return out
}

// Runners returns the goroutines running h's session watchers and the
// watchers queued for them (internal/runq).
func (h *Handler) Runners() (running, queued int) { return h.runners.Counts() }
