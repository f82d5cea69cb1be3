//go:build unix

package wsbatch

import (
	"syscall"
)

// tryWrite writes as much of p as the socket takes now, without waiting
// for it: n bytes went out; err is the write's failure (nil when the rest
// would block, or all went). ok is false when the connection offers no
// raw access (a TLS connection): the caller falls back to a short
// deadline.
func (c *Conn) tryWrite(p []byte) (n int, err error, ok bool) {
	if c.raw == nil {
		if c.noRaw {
			return 0, nil, false
		}
		sc, isSC := c.Conn.(syscall.Conn)
		var raw syscall.RawConn
		if isSC {
			raw, err = sc.SyscallConn()
		}
		if !isSC || err != nil {
			c.noRaw = true
			return 0, nil, false
		}
		c.raw = raw
	}
	w := &c.tw
	w.p, w.n, w.err = p, 0, nil
	if w.fn == nil {
		w.fn = w.write // made once: a closure per write was two allocations
	}
	rerr := c.raw.Write(w.fn)
	n, err = w.n, w.err
	w.p = nil
	if rerr != nil {
		return n, rerr, true
	}
	return n, err, true
}

// rawWrite is tryWrite's state for the raw connection's callback.
type rawWrite struct {
	p   []byte
	n   int
	err error
	fn  func(fd uintptr) bool // write, as a func value
}

// write writes p from n on without waiting for the socket, and reports
// done (the caller hands the rest on).
func (w *rawWrite) write(fd uintptr) bool {
	for w.n < len(w.p) {
		m, e := syscall.Write(int(fd), w.p[w.n:])
		if m > 0 {
			w.n += m
		}
		if e == syscall.EINTR || (e == nil && m > 0) {
			continue
		}
		if e != syscall.EAGAIN {
			w.err = e
		}
		break
	}
	return true
}
