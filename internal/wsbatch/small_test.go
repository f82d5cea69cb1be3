package wsbatch

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// echoSmall serves AcceptSmall sockets that send back every message they
// receive, corked.
func echoSmall(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, cc, err := AcceptSmall(w, r, nil)
		if err != nil {
			t.Errorf("accept: %v", err)
			return
		}
		defer ws.CloseNow()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for {
			typ, b, err := ws.Read(ctx)
			if err != nil {
				return
			}
			cc.Cork()
			err = ws.Write(ctx, typ, b)
			if uerr := cc.Uncork(time.Now().Add(5 * time.Second)); err == nil {
				err = uerr
			}
			if err != nil {
				t.Errorf("echo: %v", err)
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestAcceptSmallCarriesMessagesBothWays: through the small buffers,
// messages far larger than them arrive whole in both directions, and so do
// pings.
func TestAcceptSmallCarriesMessagesBothWays(t *testing.T) {
	srv := echoSmall(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+srv.URL[len("http"):], nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	c.SetReadLimit(1 << 20)
	for _, m := range []string{"{}", strings.Repeat("x", 300), strings.Repeat("long message ", 1500)} {
		if err := c.Write(ctx, websocket.MessageText, []byte(m)); err != nil {
			t.Fatal(err)
		}
		_, b, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("echo of %d bytes: %v", len(m), err)
		}
		if string(b) != m {
			t.Errorf("echo of %d bytes: got %d bytes back, not the same", len(m), len(b))
		}
	}
	// A ping and its pong go through the small writer and reader too (the
	// client's reads handle the pong meanwhile).
	readDone := make(chan struct{})
	go func() { defer close(readDone); c.Read(ctx) }()
	if err := c.Ping(ctx); err != nil {
		t.Errorf("ping: %v", err)
	}
	c.Close(websocket.StatusNormalClosure, "")
	<-readDone
}

// TestAcceptSmallKeepsEarlyBytes: a frame the client sent in the same
// packet as its handshake (before reading the answer) is not lost when the
// reader is replaced.
func TestAcceptSmallKeepsEarlyBytes(t *testing.T) {
	srv := echoSmall(t)
	nc, err := net.DialTimeout("tcp", srv.Listener.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	hs := "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
	payload := []byte("early")
	frame := []byte{0x81, 0x80 | byte(len(payload)), 1, 2, 3, 4} // FIN text, masked
	for i, b := range payload {
		frame = append(frame, b^[]byte{1, 2, 3, 4}[i%4])
	}
	if _, err := nc.Write(append([]byte(hs), frame...)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %v %v", resp, err)
	}
	hdr := make([]byte, 2)
	if _, err := io.ReadFull(br, hdr); err != nil {
		t.Fatalf("no echo of the early frame: %v", err)
	}
	got := make([]byte, hdr[1]&0x7f)
	if _, err := io.ReadFull(br, got); err != nil || string(got) != "early" || hdr[0] != 0x81 {
		t.Fatalf("echo %x %q (%v), want a text frame \"early\"", hdr, got, err)
	}
}

// TestShrink: the hijacked reader and writer are replaced by small ones,
// with the bytes the client sent early carried over, unless there are more
// of them than a small reader holds.
func TestShrink(t *testing.T) {
	for _, early := range []int{0, 10, smallBuf, smallBuf + 1} {
		sent := strings.Repeat("e", early)
		// net/http's reader holds what the client sent with its handshake;
		// the rest comes from the connection.
		brw := bufio.NewReadWriter(bufio.NewReader(strings.NewReader(sent)), bufio.NewWriter(io.Discard))
		if early > 0 {
			brw.Reader.Peek(early)
		}
		c := &Conn{Conn: &readConn{r: strings.NewReader("rest")}}
		got := shrink(brw, c)
		wantSize := smallBuf
		if early > smallBuf {
			wantSize = 4096
		}
		if got.Reader.Size() != wantSize || got.Writer.Size() != wantSize {
			t.Errorf("%d early bytes: reader %d, writer %d bytes; want %d", early, got.Reader.Size(), got.Writer.Size(), wantSize)
		}
		if got.Reader.Buffered() != early {
			t.Errorf("%d early bytes: %d buffered in the new reader", early, got.Reader.Buffered())
		}
		if early > smallBuf {
			continue // the original reader, over net/http's stream, was kept
		}
		all, err := io.ReadAll(got.Reader)
		if err != nil || string(all) != sent+"rest" {
			t.Errorf("%d early bytes: read %q, %v; want the early bytes then the connection's", early, all, err)
		}
	}
}

// readConn is a net.Conn that reads from r.
type readConn struct {
	net.Conn
	r io.Reader
}

func (c *readConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// TestSmallKeepsNoBuffer: AcceptSmall's connection lets go of its write
// buffer once a frame is out (an idle push socket holds none), and still
// sends each frame whole; an ordinary connection keeps its buffer for the
// next frame.
func TestSmallKeepsNoBuffer(t *testing.T) {
	for _, small := range []bool{true, false} {
		raw := &deadlineConn{}
		c := &Conn{Conn: raw, small: small}
		for i, msg := range []string{"first frame", "second"} {
			if err := c.SendText([]byte(msg), time.Now().Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
			if got := string(raw.wrote[len(raw.wrote)-len(msg):]); got != msg {
				t.Errorf("small=%v frame %d: wrote %q", small, i, got)
			}
			if kept := cap(c.buf) > 0; kept == small {
				t.Errorf("small=%v frame %d: buffer kept %v (cap %d)", small, i, kept, cap(c.buf))
			}
		}
		if want := 2 + len("first frame") + 2 + len("second"); len(raw.wrote) != want {
			t.Errorf("small=%v: wrote %d bytes, want %d", small, len(raw.wrote), want)
		}
	}
}
