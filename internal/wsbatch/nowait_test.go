package wsbatch

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// TestSendTextNoWaitSlowPeer: with a peer that reads nothing yet (a pipe
// has no buffer: every write waits for the reader), SendTextNoWait
// returns all the same (it would hang the test otherwise), later messages
// and a control frame written meanwhile queue behind the held one, and
// once the peer reads, every byte arrives once and in order.
func TestSendTextNoWaitSlowPeer(t *testing.T) {
	srv, cli := net.Pipe()
	defer cli.Close()
	c := &Conn{Conn: srv, small: true}
	defer c.Close()
	far := time.Now().Add(time.Minute)
	var want []byte
	for i, msg := range []string{"first message", "second", "third, sent while the first is held"} {
		if err := c.SendTextNoWait(withHeadroom([]byte(msg)), time.Millisecond, far); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
		want = append(appendTextHeader(want, len(msg)), msg...)
	}
	c.mu.Lock()
	flushing := c.flushing
	c.mu.Unlock()
	if !flushing {
		t.Fatal("nothing held for the connection's own goroutine, with a peer that reads nothing")
	}
	ping := []byte{0x89, 0x00} // a control frame as the library writes it
	wrote := make(chan error, 1)
	go func() {
		_, err := c.Write(ping)
		wrote <- err
	}()
	want = append(want, ping...)
	got := make([]byte, len(want))
	if _, err := io.ReadFull(cli, got); err != nil {
		t.Fatalf("read: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("the peer read\n%q\nwant\n%q", got, want)
	}
	if err := <-wrote; err != nil {
		t.Fatalf("the control frame's write: %v", err)
	}
	// Caught up: the next one is written at once, on the caller.
	go func() {
		if err := c.SendTextNoWait(withHeadroom([]byte("after")), time.Minute, far); err != nil {
			t.Errorf("send after: %v", err)
		}
	}()
	after := append(appendTextHeader(nil, 5), "after"...)
	got = make([]byte, len(after))
	if _, err := io.ReadFull(cli, got); err != nil || !bytes.Equal(got, after) {
		t.Fatalf("read %q, %v; want %q", got, err, after)
	}
}

// TestSendTextNoWaitFailedFlush: when the held bytes cannot be sent (the
// deadline passes with the peer reading nothing), the connection is closed
// and later sends report the failure.
func TestSendTextNoWaitFailedFlush(t *testing.T) {
	srv, cli := net.Pipe()
	defer cli.Close()
	c := &Conn{Conn: srv, small: true}
	if err := c.SendTextNoWait(withHeadroom([]byte("never read")), time.Millisecond, time.Now().Add(20*time.Millisecond)); err != nil {
		t.Fatalf("send: %v", err)
	}
	c.mu.Lock()
	c.waitFlushedLocked()
	err := c.err
	c.mu.Unlock()
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("flush error %v, want the deadline's", err)
	}
	if err := c.SendTextNoWait(withHeadroom([]byte("later")), time.Millisecond, time.Now().Add(time.Minute)); err == nil {
		t.Fatal("a send after the failed flush succeeded")
	}
	if _, err := c.Write([]byte{0x89, 0}); err == nil {
		t.Fatal("a control frame after the failed flush succeeded")
	}
	if _, err := cli.Read(make([]byte, 1)); err == nil {
		t.Fatal("the peer can still read: the connection was not closed")
	}
}

// TestSendTextNoWaitTCP: on a real socket (the raw write) whose peer reads
// nothing, SendTextNoWait keeps returning once the socket's buffers are
// full (the rest is held for the connection's own goroutine), and the
// peer, reading afterwards, gets every message once and in order.
func TestSendTextNoWaitTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			t.Errorf("accept: %v", err)
		}
		accepted <- nc
	}()
	cli, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	srv := <-accepted
	if srv == nil {
		t.FailNow()
	}
	cli.(*net.TCPConn).SetReadBuffer(16 << 10)
	srv.(*net.TCPConn).SetWriteBuffer(16 << 10)
	c := &Conn{Conn: srv, small: true}
	defer c.Close()
	const size, most = 32 << 10, 2000 // at most 64 MB: the buffers hold far less
	var want []byte
	held := false
	for i := 0; i < most && !held; i++ {
		msg := bytes.Repeat([]byte{byte('a' + i%26)}, size)
		if err := c.SendTextNoWait(withHeadroom(msg), time.Millisecond, time.Now().Add(time.Minute)); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
		want = append(appendTextHeader(want, size), msg...)
		c.mu.Lock()
		held = c.flushing
		c.mu.Unlock()
	}
	if !held {
		t.Fatalf("%d sends of %d bytes to a peer that reads nothing: none held", most, size)
	}
	if c.raw == nil {
		t.Fatal("the TCP connection's writes did not go through its raw access")
	}
	got := make([]byte, len(want))
	if _, err := io.ReadFull(cli, got); err != nil {
		t.Fatalf("read: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("the peer read %d bytes differing from the %d sent", len(got), len(want))
	}
	c.mu.Lock()
	c.waitFlushedLocked()
	err = c.err
	c.mu.Unlock()
	if err != nil {
		t.Fatalf("the held bytes' write: %v", err)
	}
}

// withHeadroom returns msg in a buffer as SendTextNoWait takes it.
func withHeadroom(msg []byte) []byte { return append(make([]byte, TextHeadroom), msg...) }

// TestSendTextNoWaitHeader: the frame written is the library's text
// message, for each length form of the header, and buf's headroom may
// hold anything.
func TestSendTextNoWaitHeader(t *testing.T) {
	for _, n := range []int{0, 125, 126, 0xFFFF, 0x10000} {
		srv, cli := net.Pipe()
		c := &Conn{Conn: srv, small: true}
		buf := bytes.Repeat([]byte{0xEE}, TextHeadroom+n)
		done := make(chan error, 1)
		go func() { done <- c.SendTextNoWait(buf, time.Minute, time.Now().Add(time.Minute)) }()
		want := append(appendTextHeader(nil, n), bytes.Repeat([]byte{0xEE}, n)...)
		got := make([]byte, len(want))
		if _, err := io.ReadFull(cli, got); err != nil {
			t.Fatalf("%d bytes: read: %v", n, err)
		}
		if err := <-done; err != nil {
			t.Fatalf("%d bytes: send: %v", n, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%d bytes: frame %q..., want %q...", n, got[:min(len(got), 12)], want[:min(len(want), 12)])
		}
		c.Close()
		cli.Close()
	}
	c := &Conn{Conn: nil, small: true}
	if err := c.SendTextNoWait(make([]byte, TextHeadroom-1), time.Millisecond, time.Now()); err == nil {
		t.Fatal("a buffer without the headroom was taken")
	}
}
