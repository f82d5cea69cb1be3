package agent

import (
	"slices"

	wire "github.com/confab/confab/client/agent"
)

// The answers kept for duplicate detection (answersKept per socket) are
// kept encoded, as the frame a duplicate of the request gets (the answer
// marked duplicate): one allocation of bytes without pointers, a hundred
// or two bytes, instead of a wire.Frame (528 bytes of strings and
// pointers) that every GC cycle scans. A dense run's agent sockets hold
// hundreds of answers each for as long as they last.

// keepAnswer encodes f as its duplicate's answer (nil if it cannot be
// encoded: a duplicate then gets no answer, as one whose answer was
// never kept).
func (c *conn) keepAnswer(f *wire.Frame) []byte {
	dup := *f
	dup.Duplicate = true
	buf := c.h.getBuf()
	defer c.h.putBuf(buf)
	data, err := encodeFrame(*buf, &dup, c.h.fastFrames)
	*buf = data
	if err != nil {
		return nil
	}
	return slices.Clone(data)
}

// enqueueEncoded queues a kept answer's bytes (enqueue for a frame that
// is already encoded).
func (c *conn) enqueueEncoded(data []byte) bool {
	c.backlog.queued.Add(1)
	buf := c.h.getBuf()
	*buf = append((*buf)[:0], data...)
	return c.queueEncoded(buf)
}
