package wsconn

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// fakeSock is a server stream read through ReadEach's raw loop: its
// RawConn's Read calls the loop's function until it is done (a wait is
// immediate), and sysRead serves the stream in chunks of chunk bytes with
// an EAGAIN before every other one. Read serves the same stream (Read's
// path in between).
type fakeSock struct {
	data   []byte
	chunk  int
	eagain bool
	reads  int // sysRead calls
	waits  int // the loop asked to wait

	// paced: the socket gets chunk more bytes at each wait (it has chunk
	// at first), and a read when it has none is EAGAIN (counted).
	paced   bool
	avail   int
	eagains int
}

func (s *fakeSock) Read(p []byte) (int, error) {
	if len(s.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p, s.data)
	s.data = s.data[n:]
	return n, nil
}
func (s *fakeSock) Write(p []byte) (int, error)     { return len(p), nil }
func (s *fakeSock) Close() error                    { return nil }
func (s *fakeSock) RawConn() syscall.RawConn        { return fakeRaw{s} }
func (s *fakeSock) SetReadDeadline(time.Time) error { return nil }

func (s *fakeSock) sysRead(_ int, p []byte) (int, error) {
	s.reads++
	if s.paced {
		if s.avail == 0 {
			s.eagains++
			return -1, syscall.EAGAIN
		}
		n := copy(p[:min(len(p), s.avail)], s.data)
		s.data, s.avail = s.data[n:], s.avail-n
		return n, nil
	}
	if s.eagain = !s.eagain; s.eagain {
		return -1, syscall.EAGAIN
	}
	n := copy(p[:min(len(p), s.chunk)], s.data)
	s.data = s.data[n:]
	return n, nil
}

type fakeRaw struct{ s *fakeSock }

func (fakeRaw) Control(func(uintptr)) error { return nil }
func (fakeRaw) Write(func(uintptr) bool) error {
	return errors.New("not used")
}
func (r fakeRaw) Read(f func(uintptr) bool) error {
	for !f(3) {
		r.s.waits++
		r.s.avail += r.s.chunk
		if r.s.waits > 1<<20 {
			return errors.New("fakeRaw: the loop never ends")
		}
	}
	return nil
}

// readAll reads messages with Read until the error.
func readAll(c *Conn) ([]string, error) {
	var got []string
	for {
		_, msg, err := c.Read(nil)
		if err != nil {
			return got, err
		}
		got = append(got, string(msg))
	}
}

// eachAll reads messages with ReadEach until the error, stopping and
// starting again after every stopEvery messages.
func eachAll(c *Conn, stopEvery int) ([]string, error) {
	var got []string
	for {
		k := 0
		err := c.ReadEach(nil, func(_ websocket.MessageType, msg []byte) bool {
			got = append(got, string(msg))
			k++
			return stopEvery <= 0 || k < stopEvery
		})
		if err != nil {
			return got, err
		}
	}
}

func fakeConn(stream []byte, chunk int) (*Conn, *fakeSock) {
	s := &fakeSock{data: bytes.Clone(stream), chunk: max(chunk, 1)}
	c := newConn(s)
	c.sysRead = s.sysRead
	return c, s
}

// TestReadEachStream reads the hand-built streams of TestReadStream and
// more through ReadEach's raw loop, in chunks of several sizes, stopping
// and resuming: the messages and the final error must be Read's.
func TestReadEachStream(t *testing.T) {
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	big := bytes.Repeat([]byte("x"), 70000)
	huge := bytes.Repeat([]byte("y"), rawMaxFrame+1)
	streams := map[string][]byte{
		"two messages":      cat(frame(true, 1, []byte("a")), frame(true, 2, []byte("bc"))),
		"many":              bytes.Repeat(frame(true, 1, []byte("hello world")), 3000),
		"16-bit and 64-bit": cat(frame(true, 1, big[:200]), frame(true, 2, big), frame(true, 1, nil), frame(true, 1, big[:65535])),
		"over rawMaxFrame":  cat(frame(true, 1, []byte("a")), frame(true, 2, huge), frame(true, 1, []byte("b"))),
		"fragments, ping": cat(frame(true, 1, []byte("0")), frame(false, 1, []byte("a")), frame(true, 9, []byte("p")), frame(true, 10, nil),
			frame(false, 0, []byte("b")), frame(true, 0, []byte("c")), frame(true, 1, []byte("d"))),
		"close with a code": cat(frame(true, 1, []byte("x")), frame(true, 8, []byte{0x0f, 0xa1, 'h', 'i'}), frame(true, 1, []byte("after"))),
		"masked":            cat(frame(true, 1, []byte("x")), []byte{0x81, 0x81, 1, 2, 3, 4, 'x'}),
		"reserved bits":     cat(frame(true, 1, []byte("x")), []byte{0xc1, 0x01, 'x'}),
		"cut in the header": cat(frame(true, 1, []byte("x")), []byte{0x81, 126, 1}),
		"cut in a payload":  cat(frame(true, 1, []byte("x")), frame(true, 1, []byte("hello"))[:4]),
		"over the limit":    cat(frame(true, 1, []byte("x")), frame(true, 1, big[:5000])),
		"empty":             nil,
	}
	for name, stream := range streams {
		for _, chunk := range []int{1, 3, 100, 16 << 10, 1 << 21} {
			for _, stopEvery := range []int{0, 1, 7} {
				limit := int64(4096)
				if stopEvery == 7 {
					limit = -1
				}
				t.Run(fmt.Sprintf("%s/chunk%d/stop%d", name, chunk, stopEvery), func(t *testing.T) {
					ref := newConn(rwc{bytes.NewReader(stream)})
					ref.SetReadLimit(limit)
					want, werr := readAll(ref)
					c, s := fakeConn(stream, chunk)
					c.SetReadLimit(limit)
					got, err := eachAll(c, stopEvery)
					if strings.Join(got, "|") != strings.Join(want, "|") {
						t.Fatalf("%d messages, want %d", len(got), len(want))
					}
					if err.Error() != werr.Error() {
						t.Fatalf("error %q, want %q", err, werr)
					}
					if name == "many" && chunk == 16<<10 && stopEvery == 0 && s.reads > 20 {
						t.Fatalf("%d reads for %d bytes in chunks of 16 KiB", s.reads, len(stream))
					}
				})
			}
		}
	}
}

// TestReadEachWaitsAfterShortRead: after a read that did not fill the
// buffer the loop waits before reading again, so on a socket whose data
// arrives between waits no read finds nothing.
func TestReadEachWaitsAfterShortRead(t *testing.T) {
	msgs := bytes.Repeat(frame(true, 1, []byte("0123456789")), 10) // 120 bytes
	c, s := fakeConn(msgs, 40)
	s.paced, s.avail = true, 40
	var n int
	err := c.ReadEach(nil, func(websocket.MessageType, []byte) bool { n++; return n < 10 })
	if err != nil || n != 10 {
		t.Fatalf("%d messages, error %v", n, err)
	}
	if s.eagains != 0 || s.reads != 3 {
		t.Fatalf("%d reads, %d of them found nothing; want 3 and 0", s.reads, s.eagains)
	}
}

// FuzzReadEach: any server stream, read through ReadEach in chunks
// (first byte: the chunk size) and stopped every few messages (second
// byte), yields Read's messages and error.
func FuzzReadEach(f *testing.F) {
	f.Add(byte(3), byte(0), frame(true, 1, []byte("hello")))
	f.Add(byte(1), byte(1), append(frame(false, 2, []byte("ab")), frame(true, 0, []byte("c"))...))
	f.Add(byte(200), byte(2), append(frame(true, 9, []byte("p")), frame(true, 8, []byte{3, 232})...))
	f.Add(byte(7), byte(0), []byte{0x82, 127, 0, 0, 1, 0, 0, 0, 0, 0})
	f.Add(byte(2), byte(3), []byte{0x81, 126, 0x01, 0x00, 'x'})
	f.Add(byte(255), byte(0), bytes.Repeat(frame(true, 1, []byte("abc")), 50))
	f.Fuzz(func(t *testing.T, chunk, stop byte, stream []byte) {
		ref := newConn(rwc{bytes.NewReader(stream)})
		ref.SetReadLimit(4096)
		want, werr := readAll(ref)
		c, _ := fakeConn(stream, int(chunk))
		c.SetReadLimit(4096)
		got, err := eachAll(c, int(stop%8))
		if strings.Join(got, "\x00|") != strings.Join(want, "\x00|") {
			t.Fatalf("messages %q, want %q", got, want)
		}
		if err.Error() != werr.Error() {
			t.Fatalf("error %q, want %q", err, werr)
		}
	})
}

// sockBody is a connection after a hand-made handshake: what the
// handshake's reader buffered first, then the socket, which it offers to
// ReadEach once nothing is buffered (as the bench transport's body does).
type sockBody struct {
	br *bufio.Reader
	net.Conn
}

func (b *sockBody) Read(p []byte) (int, error) {
	if b.br.Buffered() > 0 {
		return b.br.Read(p)
	}
	return b.Conn.Read(p)
}

func (b *sockBody) RawConn() syscall.RawConn {
	if b.br.Buffered() > 0 {
		return nil
	}
	rc, err := b.Conn.(*net.TCPConn).SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}

// dialRaw opens a WebSocket to u with a hand-written handshake over TCP.
func dialRaw(t *testing.T, u string) *Conn {
	t.Helper()
	host := strings.TrimPrefix(u, "ws://")
	conn, err := net.DialTimeout("tcp", host, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: %s\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", host)
	br := bufio.NewReader(conn)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if line == "\r\n" {
			break
		}
	}
	c := newConn(&sockBody{br: br, Conn: conn})
	t.Cleanup(func() { c.CloseNow() })
	return c
}

// TestReadEachSocket reads a real server's messages (sizes over the
// 7/16/64-bit lengths, a ping, a fragmented message, a message above
// rawMaxFrame) through the raw loop on a TCP socket, ending with the
// server's close code, and answers the ping.
func TestReadEachSocket(t *testing.T) {
	sizes := []int{0, 1, 125, 126, 4000, 65535, 65536, 200000, rawMaxFrame + 5, 10}
	pong := make(chan struct{})
	u := serve(t, func(ctx context.Context, c *websocket.Conn) {
		go c.CloseRead(ctx) // reads the pong, answers the close
		for i, n := range sizes {
			if c.Write(ctx, websocket.MessageBinary, bytes.Repeat([]byte{byte(i)}, n)) != nil {
				return
			}
			if i == 3 {
				pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				err := c.Ping(pctx)
				cancel()
				if err == nil {
					close(pong)
				}
			}
		}
		w, err := c.Writer(ctx, websocket.MessageText)
		if err != nil {
			return
		}
		w.Write([]byte("frag"))
		w.Write([]byte("mented")) // two frames? at least one; the message is whole either way
		w.Close()
		c.Close(4001, "done")
	})
	c := dialRaw(t, u)
	c.SetReadLimit(-1)
	raw := 0
	c.sysRead = func(fd int, p []byte) (int, error) { raw++; return syscall.Read(fd, p) }
	var got []string
	err := c.ReadEach(nil, func(_ websocket.MessageType, msg []byte) bool {
		if len(msg) > 0 && bytes.Count(msg, msg[:1]) == len(msg) && len(got) < len(sizes) {
			got = append(got, fmt.Sprintf("%d×%d", len(msg), msg[0]))
		} else {
			got = append(got, string(msg))
		}
		return true
	})
	var want []string
	for i, n := range sizes {
		if n == 0 {
			want = append(want, "")
			continue
		}
		want = append(want, fmt.Sprintf("%d×%d", n, i))
	}
	want = append(want, "fragmented")
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("messages %q, want %q", got, want)
	}
	if raw == 0 {
		t.Fatal("nothing was read by the raw loop")
	}
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != 4001 || ce.Reason != "done" {
		t.Fatalf("error %v, want the close code 4001", err)
	}
	select {
	case <-pong:
	case <-time.After(5 * time.Second):
		t.Fatal("the ping was not answered")
	}
}

// TestReadEachCloseFromElsewhere: CloseNow from another goroutine ends a
// ReadEach that waits on the socket.
func TestReadEachCloseFromElsewhere(t *testing.T) {
	u := serve(t, func(ctx context.Context, c *websocket.Conn) {
		c.Write(ctx, websocket.MessageText, []byte("one"))
		<-ctx.Done()
	})
	c := dialRaw(t, u)
	done := make(chan error, 1)
	go func() {
		done <- c.ReadEach(nil, func(_ websocket.MessageType, msg []byte) bool {
			go c.CloseNow() // from another goroutine, while the loop goes on
			return true
		})
	}()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("error %v, want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ReadEach did not end after CloseNow")
	}
}

// TestReadEachCloseInCallback: CloseNow from ReadEach's own callback (as
// a write that fails inside it does) ends ReadEach instead of waiting for
// itself, and the socket is closed.
func TestReadEachCloseInCallback(t *testing.T) {
	u := serve(t, func(ctx context.Context, c *websocket.Conn) {
		if _, _, err := c.Read(ctx); err != nil { // after the handshake's bytes: the raw loop reads these
			return
		}
		for _, m := range []string{"one", "two", "three"} {
			c.Write(ctx, websocket.MessageText, []byte(m))
		}
		<-ctx.Done()
	})
	c := dialRaw(t, u)
	raw := 0
	c.sysRead = func(fd int, p []byte) (int, error) { raw++; return syscall.Read(fd, p) }
	if err := c.Write(context.Background(), websocket.MessageText, []byte("go")); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	n := 0
	go func() {
		done <- c.ReadEach(nil, func(_ websocket.MessageType, msg []byte) bool {
			n++
			c.CloseNow()
			return true
		})
	}()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) || n != 1 {
			t.Fatalf("error %v after %d messages, want net.ErrClosed after 1", err, n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ReadEach did not end after CloseNow in its callback")
	}
	if raw == 0 {
		t.Fatal("the raw loop did not read")
	}
	if _, err := c.rwc.(*sockBody).Conn.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("the socket is still open: write %v", err)
	}
}
