package agent

import (
	"bytes"
	"slices"

	wire "github.com/confab/confab/client/agent"
)

// The answers kept for duplicate detection (answersKept per socket) are
// kept encoded, as the frame a duplicate of the request gets (the answer
// marked duplicate): one allocation of bytes without pointers, a hundred
// or two bytes, instead of a wire.Frame (528 bytes of strings and
// pointers) that every GC cycle scans. A dense run's agent sockets hold
// hundreds of answers each for as long as they last.

// dupMark is how a duplicate's answer differs from the answer itself:
// wire.Frame's fields begin type, id, op, duplicate, and the values before
// it are quoted strings (a quote inside them is escaped), so the first
// occurrence of these bytes in an encoded frame is that field.
const dupMark = `,"duplicate":true`

// encodeKept encodes f once for both of its uses: the answer sent now, in
// a buffer of the handler's pool (nil if f cannot be encoded), and the
// answer a duplicate of the request gets, the same bytes marked duplicate
// (nil if it cannot be encoded: a duplicate then gets no answer, as one
// whose answer was never kept). One encoding instead of two per answered
// request (TestEncodeKeptMatchesTwoEncodings).
func (c *conn) encodeKept(f *wire.Frame) (buf *[]byte, kept []byte) {
	dup := *f
	dup.Duplicate = true
	buf = c.h.getBuf()
	data, err := encodeFrame(*buf, &dup, c.h.fastFrames)
	*buf = data
	if err != nil {
		c.h.putBuf(buf)
		return nil, nil
	}
	kept = slices.Clone(data)
	i := bytes.Index(data, []byte(dupMark))
	if i < 0 || f.Duplicate {
		// Not the layout above after all: encode the answer itself.
		data, err = encodeFrame(data[:0], f, c.h.fastFrames)
		*buf = data
		if err != nil {
			c.h.putBuf(buf)
			return nil, kept
		}
		return buf, kept
	}
	*buf = append(data[:i], data[i+len(dupMark):]...)
	return buf, kept
}

// enqueueEncoded queues a kept answer's bytes (enqueue for a frame that
// is already encoded).
func (c *conn) enqueueEncoded(data []byte) bool {
	c.backlog.queued.Add(1)
	buf := c.h.getBuf()
	*buf = append((*buf)[:0], data...)
	return c.queueEncoded(buf)
}
