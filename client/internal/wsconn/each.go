package wsconn

import (
	"encoding/binary"
	"errors"
	"io"
	"os"
	"syscall"
	"time"

	"github.com/coder/websocket"
)

// RawConner is what a connection body (the Body of the handshake's 101
// answer) may implement to let ReadEach read its socket directly. RawConn
// returns the socket, or nil while bytes are still buffered in front of it
// (read through the body's Read first). SetReadDeadline wakes a wait of
// ReadEach on the socket: CloseNow uses it while ReadEach is inside the
// socket's read (closing it then would wait for that read to end, which
// deadlocks when CloseNow is called from ReadEach's callback).
type RawConner interface {
	RawConn() syscall.RawConn
	SetReadDeadline(t time.Time) error
}

// rawBufSize is the first size of ReadEach's buffer; it grows up to
// rawMaxFrame for a larger frame, and frames above that are left to Read's
// chunked path.
const (
	rawBufSize  = 16 << 10
	rawMaxFrame = 1 << 20
)

// ReadEach reads data messages and calls fn with each one on the calling
// goroutine, until fn returns false (ReadEach returns nil) or the read side
// ends (ReadEach returns what Read would have: a websocket.CloseError for
// the server's close frame, and so on). msg is only valid until fn
// returns; buf is a buffer ReadEach may use. Pings, pongs and close frames
// are handled as by Read.
//
// When the connection's body is a RawConner, ReadEach reads the socket
// inside syscall.RawConn.Read and stays inside it between messages: after
// a read that did not fill its buffer (the socket had nothing more at that
// moment) it waits for the socket to become readable instead of reading
// again, which saves the read that would find nothing (about one system
// call per wake-up). A readiness that arrives while fn runs is not lost:
// the runtime keeps it until the wait. While fn runs inside that read, a
// Close or CloseNow from another goroutine waits for fn to return; fn
// itself must not close the connection (it would wait for itself).
func (c *Conn) ReadEach(buf []byte, fn func(typ websocket.MessageType, msg []byte) bool) error {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	for {
		select {
		case <-c.readDone:
			return c.readErr
		default:
		}
		if c.closeWanted.Load() { // CloseNow, perhaps from fn
			c.endRead(ErrClosed)
			return c.readErr
		}
		if rc := c.rawConn(); rc != nil {
			more, err := c.readRaw(rc, fn)
			if err != nil {
				c.endRead(err)
				return c.readErr
			}
			if !more {
				return nil
			}
			// A frame the raw loop leaves to readMessage (a control
			// frame, a fragment, a protocol error, a large message).
		}
		typ, out, err := c.readLocked(buf[:0])
		buf = out
		if err != nil {
			return err
		}
		if !fn(typ, out) {
			return nil
		}
	}
}

// rawConn returns the socket when ReadEach may read it directly: the body
// offers it and nothing is buffered in front of it.
func (c *Conn) rawConn() syscall.RawConn {
	if c.br.Buffered() > 0 || len(c.src.left) > 0 {
		return nil
	}
	rc, ok := c.rwc.(RawConner)
	if !ok {
		return nil
	}
	return rc.RawConn()
}

// readRaw reads and delivers data frames inside one rc.Read. It returns
// more when a frame is left for readMessage (its bytes, and what follows,
// in c.src.left), and the error that ended the read side.
func (c *Conn) readRaw(rc syscall.RawConn, fn func(websocket.MessageType, []byte) bool) (more bool, err error) {
	if cap(c.rbuf) < rawBufSize {
		c.rbuf = make([]byte, rawBufSize)
	}
	rb := c.rbuf[:cap(c.rbuf)]
	r, w := 0, 0
	short := false // the last read did not fill rb: the socket was empty then
	limit := c.limit.Load()
	var ioErr error
	sysRead := c.sysRead
	if sysRead == nil {
		sysRead = syscall.Read
	}
	c.inRaw.Store(true)
	cerr := rc.Read(func(fd uintptr) bool {
		for {
			if c.closeWanted.Load() {
				ioErr = ErrClosed
				return true
			}
			for {
				typ, hl, n, st := parseFrame(rb[r:w], limit)
				if st == frameOther {
					more = true
					return true
				}
				if st == frameShort {
					if need := hl + n; need > len(rb) {
						// A frame larger than the buffer: grow it (at
						// most rawMaxFrame, parseFrame leaves larger ones).
						nb := make([]byte, max(need, 2*len(rb)))
						w = copy(nb, rb[r:w])
						r = 0
						rb, c.rbuf = nb, nb
					}
					break
				}
				msg := rb[r+hl : r+hl+n]
				r += hl + n
				if !fn(typ, msg) {
					return true
				}
				if c.closeWanted.Load() {
					ioErr = ErrClosed
					return true
				}
			}
			if r > 0 {
				w = copy(rb, rb[r:w])
				r = 0
			}
			if short {
				short = false
				return false // wait until the socket is readable
			}
			m, e := sysRead(int(fd), rb[w:])
			switch {
			case e == syscall.EINTR:
				continue
			case e == syscall.EAGAIN:
				return false
			case e != nil:
				ioErr = os.NewSyscallError("read", e)
				return true
			case m == 0:
				ioErr = io.EOF
				if w > 0 {
					ioErr = io.ErrUnexpectedEOF
				}
				return true
			}
			w += m
			short = w < len(rb)
		}
	})
	c.inRaw.Store(false)
	if c.closeWanted.Load() {
		c.rwc.Close() // CloseNow came while the socket was being read
	}
	if r < w {
		c.src.left = rb[r:w] // served to c.br before the socket; rb is not used again until it is empty
	}
	switch {
	case cerr != nil:
		return false, cerr
	case ioErr != nil && !more:
		if errors.Is(ioErr, io.EOF) && r < w {
			ioErr = io.ErrUnexpectedEOF
		}
		return false, ioErr
	}
	return more, nil
}

// Frame states of parseFrame.
const (
	frameOK    = iota // a whole data frame ReadEach delivers
	frameShort        // more bytes are needed (hl+n of them, when known)
	frameOther        // a frame for readMessage
)

// parseFrame looks at the frame at the start of b: a final, unmasked text
// or binary frame of at most rawMaxFrame bytes (and limit, when > 0) is
// frameOK with its header length hl and payload length n once it is whole
// in b; anything else is frameOther.
func parseFrame(b []byte, limit int64) (typ websocket.MessageType, hl, n int, st int) {
	if len(b) < 2 {
		return 0, 2, 0, frameShort
	}
	switch {
	case b[0] == 0x80|opText:
		typ = websocket.MessageText
	case b[0] == 0x80|opBinary:
		typ = websocket.MessageBinary
	default: // reserved bits, fragments, control frames, bad opcodes
		return 0, 0, 0, frameOther
	}
	if b[1]&0x80 != 0 {
		return 0, 0, 0, frameOther // masked: readMessage's protocol error
	}
	var size uint64
	switch size, hl = uint64(b[1]&0x7f), 2; size {
	case 126:
		if hl = 4; len(b) < hl {
			return 0, hl, 0, frameShort
		}
		size = uint64(binary.BigEndian.Uint16(b[2:4]))
	case 127:
		if hl = 10; len(b) < hl {
			return 0, hl, 0, frameShort
		}
		size = binary.BigEndian.Uint64(b[2:10])
	}
	if size > rawMaxFrame || (limit > 0 && size > uint64(limit)) {
		return 0, 0, 0, frameOther
	}
	n = int(size)
	if len(b) < hl+n {
		return 0, hl, n, frameShort
	}
	return typ, hl, n, frameOK
}

// leftReader is the source of c.br: the bytes ReadEach's raw loop read but
// did not deliver, then the connection.
type leftReader struct {
	rwc  io.Reader
	left []byte
}

func (l *leftReader) Read(p []byte) (int, error) {
	if len(l.left) > 0 {
		n := copy(p, l.left)
		l.left = l.left[n:]
		return n, nil
	}
	return l.rwc.Read(p)
}

// closeRWC closes the connection's body for CloseNow. While ReadEach is
// inside the socket's read it only asks for the close and wakes the read
// with a deadline in the past; ReadEach closes the body when it leaves the
// read (closeWanted is set before inRaw is looked at, and ReadEach clears
// inRaw before it looks at closeWanted, so one of the two closes it).
func (c *Conn) closeRWC() {
	c.closeWanted.Store(true)
	if rc, ok := c.rwc.(RawConner); ok && c.inRaw.Load() {
		rc.SetReadDeadline(time.Unix(1, 0))
		return
	}
	c.rwc.Close()
}
