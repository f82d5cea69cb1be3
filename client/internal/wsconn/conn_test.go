package wsconn

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// serve starts a WebSocket server (the library the Confab server uses) on
// 127.0.0.1 whose connections run handle.
func serve(t *testing.T, handle func(ctx context.Context, c *websocket.Conn)) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Refuse") != "" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		c.SetReadLimit(-1)
		handle(r.Context(), c)
	}))
	t.Cleanup(srv.Close)
	return "ws://" + strings.TrimPrefix(srv.URL, "http://")
}

func dial(t *testing.T, u string) *Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := Dial(ctx, u, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

// echo answers every message with the same message until the client closes.
func echo(ctx context.Context, c *websocket.Conn) {
	for {
		typ, data, err := c.Read(ctx)
		if err != nil {
			return
		}
		if c.Write(ctx, typ, data) != nil {
			return
		}
	}
}

func TestEcho(t *testing.T) {
	c := dial(t, serve(t, echo))
	c.SetReadLimit(-1)
	ctx := context.Background()
	var buf []byte
	for _, n := range []int{0, 1, 125, 126, 127, 65535, 65536, 70000, 2<<20 + 3} {
		for _, typ := range []websocket.MessageType{websocket.MessageText, websocket.MessageBinary} {
			msg := bytes.Repeat([]byte{byte(n), 'x', 0xff}, n/3+1)[:n]
			if err := c.Write(ctx, typ, msg); err != nil {
				t.Fatal(err)
			}
			var got websocket.MessageType
			var err error
			got, buf, err = c.Read(buf[:0])
			if err != nil {
				t.Fatalf("%d bytes: %v", n, err)
			}
			if got != typ || !bytes.Equal(buf, msg) {
				t.Fatalf("%d bytes %v: got %d bytes %v", n, typ, len(buf), got)
			}
		}
	}
	if err := c.Close(websocket.StatusNormalClosure, "bye"); err != nil {
		t.Fatal(err)
	}
	if err := c.Write(ctx, websocket.MessageText, []byte("late")); !errors.Is(err, ErrClosed) {
		t.Fatalf("write after close: %v", err)
	}
}

// TestConcurrentWrites has many goroutines write at once (their frames
// coalesced) and checks that the server received every message whole.
func TestConcurrentWrites(t *testing.T) {
	const writers, each = 16, 200
	got := make(chan string, writers*each)
	c := dial(t, serve(t, func(ctx context.Context, c *websocket.Conn) {
		for {
			_, data, err := c.Read(ctx)
			if err != nil {
				close(got)
				return
			}
			got <- string(data)
		}
	}))
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				msg := fmt.Sprintf("%d:%d:%s", w, i, strings.Repeat("y", (w*i)%300))
				if err := c.Write(context.Background(), websocket.MessageText, []byte(msg)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	next := make([]int, writers)
	for range writers * each {
		m := <-got
		var w, i int
		if _, err := fmt.Sscanf(m, "%d:%d:", &w, &i); err != nil {
			t.Fatalf("garbled message %q", m)
		}
		if i != next[w] || m != fmt.Sprintf("%d:%d:%s", w, i, strings.Repeat("y", (w*i)%300)) {
			t.Fatalf("writer %d: got message %d (%q), want %d", w, i, m, next[w])
		}
		next[w]++
	}
	c.Close(websocket.StatusNormalClosure, "")
}

// TestFragmentsAndPing reads a message the server sends in three frames,
// with a ping in between that must be answered.
func TestFragmentsAndPing(t *testing.T) {
	pinged := make(chan error, 1)
	c := dial(t, serve(t, func(ctx context.Context, c *websocket.Conn) {
		ctx = c.CloseRead(ctx) // the server reads (pongs, the close) on its own
		w, err := c.Writer(ctx, websocket.MessageText)
		if err != nil {
			return
		}
		w.Write([]byte("one "))
		w.Write([]byte("two "))
		go func() {
			pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			pinged <- c.Ping(pctx)
		}()
		time.Sleep(10 * time.Millisecond) // let the ping go out between the fragments (either order is valid)
		w.Write([]byte("three"))
		w.Close()
		<-ctx.Done()
	}))
	_, msg, err := c.Read(nil)
	if err != nil || string(msg) != "one two three" {
		t.Fatalf("got %q, %v", msg, err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Read(nil) // answers pings until the connection ends
	}()
	if err := <-pinged; err != nil {
		t.Fatalf("ping not answered: %v", err)
	}
	c.Close(websocket.StatusNormalClosure, "")
	<-done
}

// TestServerClose checks that the server's close code and reason reach
// the reader, and that later reads and writes fail.
func TestServerClose(t *testing.T) {
	c := dial(t, serve(t, func(ctx context.Context, c *websocket.Conn) {
		c.Write(ctx, websocket.MessageText, []byte("last"))
		c.Close(4001, "slow consumer")
	}))
	if _, msg, err := c.Read(nil); err != nil || string(msg) != "last" {
		t.Fatalf("got %q, %v", msg, err)
	}
	for range 2 {
		_, _, err := c.Read(nil)
		var ce websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != 4001 || ce.Reason != "slow consumer" {
			t.Fatalf("read after the server's close: %v", err)
		}
	}
	if err := c.Write(context.Background(), websocket.MessageText, []byte("x")); err == nil {
		t.Fatal("write after the server's close succeeded")
	}
	if err := c.Close(websocket.StatusNormalClosure, ""); err != nil {
		t.Fatalf("close after the server's close: %v", err)
	}
}

// TestClientClose checks the close handshake from this side, with and
// without a goroutine reading.
func TestClientClose(t *testing.T) {
	for _, reading := range []bool{false, true} {
		seen := make(chan error, 1)
		c := dial(t, serve(t, func(ctx context.Context, c *websocket.Conn) {
			_, _, err := c.Read(ctx)
			seen <- err
		}))
		done := make(chan error, 1)
		if reading {
			go func() { _, _, err := c.Read(nil); done <- err }()
			time.Sleep(10 * time.Millisecond)
		}
		start := time.Now()
		if err := c.Close(websocket.StatusNormalClosure, "bye"); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d >= closeTimeout {
			t.Fatalf("reading %v: close waited the whole timeout (%v)", reading, d)
		}
		var ce websocket.CloseError
		if err := <-seen; !errors.As(err, &ce) || ce.Code != websocket.StatusNormalClosure || ce.Reason != "bye" {
			t.Fatalf("reading %v: the server saw %v", reading, err)
		}
		if reading {
			if err := <-done; !errors.As(err, &ce) || ce.Code != websocket.StatusNormalClosure {
				t.Fatalf("the reader got %v", err)
			}
		}
	}
}

func TestReadLimit(t *testing.T) {
	seen := make(chan error, 1)
	c := dial(t, serve(t, func(ctx context.Context, c *websocket.Conn) {
		c.Write(ctx, websocket.MessageText, bytes.Repeat([]byte("z"), 2000))
		_, _, err := c.Read(ctx)
		seen <- err
	}))
	c.SetReadLimit(1000)
	if _, _, err := c.Read(nil); err == nil || !strings.Contains(err.Error(), "limited") {
		t.Fatalf("read of a message over the limit: %v", err)
	}
	if err := <-seen; websocket.CloseStatus(err) != websocket.StatusMessageTooBig {
		t.Fatalf("the server saw %v", err)
	}
}

func TestDialRefused(t *testing.T) {
	u := serve(t, echo)
	_, resp, err := Dial(context.Background(), u, nil, http.Header{"X-Refuse": {"1"}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("refused handshake: %v, %v", resp, err)
	}
}

// TestCancelledWrite checks that a write under a cancelled context fails
// and that a cancellation breaks a write that cannot finish.
func TestCancelledWrite(t *testing.T) {
	block := make(chan struct{})
	c := dial(t, serve(t, func(ctx context.Context, c *websocket.Conn) { <-block }))
	defer close(block)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Write(ctx, websocket.MessageText, []byte("x")); !errors.Is(err, context.Canceled) {
		t.Fatalf("write under a cancelled context: %v", err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		big := make([]byte, 1<<20)
		for {
			if err := c.Write(ctx, websocket.MessageBinary, big); err != nil {
				errc <- err
				return
			}
		}
	}()
	time.Sleep(50 * time.Millisecond) // the server reads nothing: the socket fills up
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) && !errors.Is(err, ErrClosed) {
			t.Fatalf("blocked write ended with %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the cancellation did not break a blocked write")
	}
}

func TestMask(t *testing.T) {
	key := [4]byte{1, 2, 3, 0xf0}
	for n := range 40 {
		p := bytes.Repeat([]byte{0x5a, 7}, n)[:n]
		want := append([]byte(nil), p...)
		for i := range want {
			want[i] ^= key[i%4]
		}
		mask(p, key)
		if !bytes.Equal(p, want) {
			t.Fatalf("%d bytes: %x, want %x", n, p, want)
		}
	}
}

// rwc is a connection whose server side is a fixed byte stream; what the
// client writes is dropped.
type rwc struct{ io.Reader }

func (rwc) Write(p []byte) (int, error) { return len(p), nil }
func (rwc) Close() error                { return nil }

// frame builds an unmasked server frame.
func frame(fin bool, op byte, p []byte) []byte {
	b := []byte{op}
	if fin {
		b[0] |= 0x80
	}
	switch n := len(p); {
	case n < 126:
		b = append(b, byte(n))
	case n <= 0xffff:
		b = append(b, 126, byte(n>>8), byte(n))
	default:
		b = append(b, 127, 0, 0, 0, 0, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(b, p...)
}

// TestReadStream reads hand-built server streams: what each yields, and
// the frames that must be refused.
func TestReadStream(t *testing.T) {
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	for _, tc := range []struct {
		name   string
		stream []byte
		want   []string
		err    string
	}{
		{"two messages", cat(frame(true, 1, []byte("a")), frame(true, 2, []byte("bc"))), []string{"a", "bc"}, "EOF"},
		{"fragments, ping and pong between", cat(frame(false, 1, []byte("a")), frame(true, 9, []byte("p")), frame(true, 10, nil),
			frame(false, 0, []byte("b")), frame(true, 0, []byte("c"))), []string{"abc"}, "EOF"},
		{"close with a code", cat(frame(true, 1, []byte("x")), frame(true, 8, []byte{0x0f, 0xa1, 'h', 'i'})), []string{"x"}, "status = StatusCode(4001) and reason = \"hi\""},
		{"close without a code", frame(true, 8, nil), nil, "StatusNoStatusRcvd"},
		{"continuation first", frame(true, 0, []byte("x")), nil, "continuation frame without a message"},
		{"new message inside one", cat(frame(false, 1, []byte("x")), frame(true, 1, []byte("y"))), nil, "new message inside"},
		{"masked", []byte{0x81, 0x81, 1, 2, 3, 4, 'x'}, nil, "masked"},
		{"reserved bits", []byte{0xc1, 0x01, 'x'}, nil, "reserved"},
		{"fragmented control", []byte{0x09, 0x00}, nil, "control"},
		{"unknown opcode", frame(true, 3, nil), nil, "unknown opcode"},
		{"cut in the payload", frame(true, 1, []byte("hello"))[:4], nil, "unexpected EOF"},
		{"huge announced length", []byte{0x82, 127, 0, 0, 1, 0, 0, 0, 0, 0, 'x'}, nil, "limited"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newConn(rwc{bytes.NewReader(tc.stream)})
			var got []string
			for {
				_, msg, err := c.Read(nil)
				if err != nil {
					if !strings.Contains(err.Error(), tc.err) {
						t.Fatalf("error %v, want one with %q", err, tc.err)
					}
					break
				}
				got = append(got, string(msg))
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Fatalf("messages %q, want %q", got, tc.want)
			}
		})
	}
}

// FuzzRead reads any server stream: it must end in an error (the stream
// ends) without a panic, and what it yields must fit the read limit.
func FuzzRead(f *testing.F) {
	f.Add(frame(true, 1, []byte("hello")))
	f.Add(append(frame(false, 2, []byte("ab")), frame(true, 0, []byte("c"))...))
	f.Add(append(frame(true, 9, []byte("p")), frame(true, 8, []byte{3, 232})...))
	f.Add([]byte{0x82, 127, 0, 0, 1, 0, 0, 0, 0, 0})
	f.Add([]byte{0x81, 126, 0x01, 0x00, 'x'})
	f.Fuzz(func(t *testing.T, stream []byte) {
		c := newConn(rwc{bytes.NewReader(stream)})
		c.SetReadLimit(4096)
		var buf []byte
		for range len(stream) + 1 {
			var err error
			_, buf, err = c.Read(buf[:0])
			if err != nil {
				return
			}
			if len(buf) > 4096 {
				t.Fatalf("a message of %d bytes passed the limit", len(buf))
			}
		}
		t.Fatal("more messages than bytes in the stream")
	})
}

// slowWriter is a connection whose first write waits for release; it
// counts the writes and keeps what was written.
type slowWriter struct {
	io.Reader
	release chan struct{}
	mu      sync.Mutex
	writes  int
	out     bytes.Buffer
}

func (w *slowWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.writes++
	first := w.writes == 1
	w.mu.Unlock()
	if first {
		<-w.release
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.out.Write(p)
}
func (w *slowWriter) Close() error { return nil }

// TestQueueCoalesces queues frames while the first write is still in
// progress: they go out together in one more write, in order, and a
// synchronous Write after them waits for them.
func TestQueueCoalesces(t *testing.T) {
	w := &slowWriter{Reader: bytes.NewReader(nil), release: make(chan struct{})}
	c := newConn(w)
	if err := c.Queue(websocket.MessageText, []byte("m0")); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < 100; i++ {
		if err := c.Queue(websocket.MessageText, fmt.Appendf(nil, "m%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error)
	go func() { done <- c.Write(context.Background(), websocket.MessageBinary, []byte("last")) }()
	select {
	case err := <-done:
		t.Fatalf("a write returned before the frames queued ahead of it were written: %v", err)
	case <-time.After(20 * time.Millisecond):
	}
	close(w.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	w.mu.Lock()
	writes, out := w.writes, w.out.Bytes()
	w.mu.Unlock()
	if writes > 3 {
		t.Errorf("101 frames took %d writes", writes)
	}
	// Unmask what was written and check the messages in order.
	for i := 0; i <= 100; i++ {
		if len(out) < 6 || out[1]&0x80 == 0 {
			t.Fatalf("frame %d: short or unmasked: %x", i, out)
		}
		n := int(out[1] & 0x7f)
		var key [4]byte
		copy(key[:], out[2:6])
		p := append([]byte(nil), out[6:6+n]...)
		mask(p, key)
		want, op := fmt.Sprintf("m%d", i), byte(0x81)
		if i == 100 {
			want, op = "last", 0x82
		}
		if out[0] != op || string(p) != want {
			t.Fatalf("frame %d: %x %q, want %x %q", i, out[0], p, op, want)
		}
		out = out[6+n:]
	}
	c.CloseNow()
	if err := c.Queue(websocket.MessageText, []byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("queue after close: %v", err)
	}
}
