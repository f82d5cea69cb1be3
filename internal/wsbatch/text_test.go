package wsbatch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestAppendTextIsTheLibrarysFrame: for payloads around each length
// encoding's bounds, AppendText holds the very bytes the library's Write
// of a text message holds, and a client reads every message; after the
// library has sent a close frame AppendText and SendText refuse.
func TestAppendTextIsTheLibrarysFrame(t *testing.T) {
	sizes := []int{0, 1, 125, 126, 127, 0xFFFF, 0x10000, 70000}
	payload := func(n int) []byte { return bytes.Repeat([]byte("é<x>"), n/5+1)[:n] }
	errs := make(chan error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, cc, err := Accept(w, r, nil)
		if err != nil {
			errs <- err
			return
		}
		defer ws.CloseNow()
		errs <- func() error {
			for _, n := range sizes {
				p := payload(n)
				cc.Cork()
				if err := ws.Write(context.Background(), websocket.MessageText, p); err != nil {
					return err
				}
				cc.mu.Lock()
				lib := bytes.Clone(cc.buf) // sent too: the client reads both
				cc.mu.Unlock()
				if err := cc.AppendText(p); err != nil {
					return err
				}
				cc.mu.Lock()
				ours := bytes.Clone(cc.buf[len(lib):])
				cc.mu.Unlock()
				if !bytes.Equal(lib, ours) {
					return fmt.Errorf("AppendText of %d bytes: % x..., the library: % x...", n, ours[:min(len(ours), 12)], lib[:min(len(lib), 12)])
				}
				if err := cc.Uncork(time.Now().Add(5 * time.Second)); err != nil {
					return err
				}
			}
			if err := cc.SendText([]byte("last"), time.Now().Add(5*time.Second)); err != nil {
				return err
			}
			ws.Close(websocket.StatusNormalClosure, "done")
			if err := cc.AppendText([]byte("after close")); !errors.Is(err, net.ErrClosed) {
				return errors.New("AppendText after the close frame did not refuse")
			}
			if err := cc.SendText([]byte("after close"), time.Now().Add(time.Second)); !errors.Is(err, net.ErrClosed) {
				return errors.New("SendText after the close frame did not refuse")
			}
			return nil
		}()
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+srv.URL[len("http"):], nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	c.SetReadLimit(1 << 20)
	for _, n := range sizes {
		for range 2 { // the library's copy, then ours
			typ, b, err := c.Read(ctx)
			if err != nil {
				t.Fatalf("read the %d-byte message: %v", n, err)
			}
			if typ != websocket.MessageText || !bytes.Equal(b, payload(n)) {
				t.Fatalf("read %v of %d bytes, want the %d-byte text message", typ, len(b), n)
			}
		}
	}
	if _, b, err := c.Read(ctx); err != nil || string(b) != "last" {
		t.Fatalf("read %q (%v), want the SendText message", b, err)
	}
	if _, _, err := c.Read(ctx); websocket.CloseStatus(err) != websocket.StatusNormalClosure {
		t.Fatalf("after the messages: %v, want the close frame", err)
	}
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
}
