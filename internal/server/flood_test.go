package server_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/confab/confab/client/chatv2"
	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/config"
	"github.com/confab/confab/internal/server"
	"github.com/confab/confab/internal/store/sqlite/sqlitetest"
)

// TestOneChatFloodStaysBounded reproduces the first attack of issue 12
// against an in-process node: one customer sends 14.7 KB messages without
// end (here 2,000 of them, 29 MB, past the default 8 MiB
// session-max-transcript-bytes), through the customer API, then the chat
// closes and its final transcript is written. The heap, sampled with
// runtime.ReadMemStats during the flood and the close, stays under a
// ceiling proportional to the session's bound, not to what was sent. The
// clock is fake so that the flood never trips party-send-rate; the sends
// past the bound are refused with statusCode 2 / error 204.
func TestOneChatFloodStaysBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("a 29 MB flood")
	}
	fake := clock.NewFake(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	cfg, _, err := config.Parse("t.ini", []byte("[settings]\ntranscript-auto-save = 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(context.Background(), server.Options{Config: cfg, DataDir: sqlitetest.Dir(t), Listen: "127.0.0.1:0",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Clock: fake, Out: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	defer srv.Shutdown(ctx)
	cl := chatv2.New("http://"+srv.Addr(config.PortWebAPI)+"/genesys/2/chat", chatv2.Options{})
	defer cl.CloseIdleConnections()
	// Only the configured contact attributes become contact attributes.
	ud := map[string]string{"EmailAddress": "flood@example.com", "FirstName": "Flo"}
	for i := range 200 {
		ud[fmt.Sprintf("junk%03d", i)] = "x"
	}
	ch, _, err := cl.RequestChat(ctx, "customer-support", chatv2.ChatRequest{Nickname: "Flo", UserData: ud})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := srv.Engine().Get(ch.ID)
	agent, _, _ := s.Join(chat.JoinRequest{Nick: "Anna", Type: chat.Agent, Protocol: chat.Basic})

	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	go func() {
		defer close(sampled)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peak.Load() {
				peak.Store(ms.HeapAlloc)
			}
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	text := strings.Repeat("x", 14700)
	accepted, full := 0, 0
	for range 2000 {
		fake.Advance(time.Second)
		_, err := ch.Send(ctx, text, nil)
		var ae *chatv2.APIError
		switch {
		case err == nil:
			accepted++
		case asAPIError(err, &ae) && ae.StatusCode == 2 && ae.Has(204) && !ae.ChatEnded:
			full++
		default:
			t.Fatalf("send %d: %v", accepted+full, err)
		}
	}
	rc, closed, err := s.Leave(chat.LeaveRequest{UserID: agent.UserID, After: chat.ForceClose})
	if err != nil || !closed {
		t.Fatal(closed, err)
	}
	if err := rc.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	close(stop)
	<-sampled
	grown := int64(peak.Load()) - int64(base.HeapAlloc)
	const ceiling = 64 << 20 // 8 MiB of text held, one encoded final transcript, the store's copy, slack
	t.Logf("accepted %d, refused as full %d; peak heap %.1f MiB above the start", accepted, full, float64(grown)/(1<<20))
	if accepted != 8<<20/14700 || full != 2000-accepted {
		t.Errorf("accepted %d, refused %d", accepted, full)
	}
	if grown > ceiling {
		t.Errorf("peak heap grew %d bytes, more than the ceiling %d", grown, ceiling)
	}
	st := storeOf(t, srv)
	in, err := st.GetInteraction(ctx, ch.ID)
	if err != nil {
		t.Fatal(err)
	}
	c, err := st.GetContact(ctx, in.ContactID)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Attributes) != 2 || c.Attributes["EmailAddress"] != "flood@example.com" || c.Attributes["FirstName"] != "Flo" {
		t.Errorf("contact attributes %v, want only EmailAddress and FirstName", c.Attributes)
	}
}

func asAPIError(err error, target **chatv2.APIError) bool {
	return errors.As(err, target)
}
