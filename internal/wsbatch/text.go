package wsbatch

import (
	"encoding/binary"
	"fmt"
	"net"
	"time"
)

// A server's text message written by hand: the frame github.com/coder/websocket
// writes for Conn.Write(MessageText, p) with compression off (Accept's
// callers negotiate no extension) — FIN and opcode 1, the payload length in
// its shortest form, no mask — without the library's two channel locks,
// its buffered writer and the copies between them. The library then writes
// only control frames (pings, pongs, the close), each in one Write of ours;
// Write notes a close frame, after which AppendText refuses (nothing may
// follow a close, as the library's own Write refuses).

// AppendText adds p, as one text message, to what the next Uncork sends
// (corked or not: it is held until then).
func (c *Conn) AppendText(p []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.appendTextLocked(p)
}

// SendText is AppendText then Uncork in one hold of the connection's lock:
// p goes out as one text message, with whatever was held, by deadline.
func (c *Conn) SendText(p []byte, deadline time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.appendTextLocked(p); err != nil {
		return err
	}
	return c.uncorkLocked(deadline)
}

func (c *Conn) appendTextLocked(p []byte) error {
	if c.closeSent {
		return fmt.Errorf("wsbatch: a close frame was sent: %w", net.ErrClosed)
	}
	c.buf = appendTextHeader(c.buf, len(p))
	c.buf = append(c.buf, p...)
	return nil
}

// appendTextHeader appends the header of an unmasked final text frame of
// n payload bytes (RFC 6455 section 5.2).
func appendTextHeader(b []byte, n int) []byte {
	const finText = 0x81
	switch {
	case n <= 125:
		return append(b, finText, byte(n))
	case n <= 0xFFFF:
		return binary.BigEndian.AppendUint16(append(b, finText, 126), uint16(n))
	}
	return binary.BigEndian.AppendUint64(append(b, finText, 127), uint64(n))
}

// isCloseFrame reports whether a write of the library starts a close
// frame (opcode 8). Every write of the library is whole frames: it flushes
// its buffer after each control frame, and it writes no data frames on a
// connection whose messages go through AppendText.
func isCloseFrame(p []byte) bool { return len(p) > 0 && p[0]&0x0F == 0x8 }
