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
		if err := c.SendTextNoWait([]byte(msg), time.Millisecond, far); err != nil {
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
		if err := c.SendTextNoWait([]byte("after"), time.Minute, far); err != nil {
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
	if err := c.SendTextNoWait([]byte("never read"), time.Millisecond, time.Now().Add(20*time.Millisecond)); err != nil {
		t.Fatalf("send: %v", err)
	}
	c.mu.Lock()
	c.waitFlushedLocked()
	err := c.err
	c.mu.Unlock()
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("flush error %v, want the deadline's", err)
	}
	if err := c.SendTextNoWait([]byte("later"), time.Millisecond, time.Now().Add(time.Minute)); err == nil {
		t.Fatal("a send after the failed flush succeeded")
	}
	if _, err := c.Write([]byte{0x89, 0}); err == nil {
		t.Fatal("a control frame after the failed flush succeeded")
	}
	if _, err := cli.Read(make([]byte, 1)); err == nil {
		t.Fatal("the peer can still read: the connection was not closed")
	}
}
