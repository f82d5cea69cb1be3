package history_test

import (
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/history"
	"github.com/confab/confab/internal/store"
)

// TestCloseStreamsTranscript closes a session holding 8 MiB of text (the
// default session-max-transcript-bytes) on a real SQLite store and
// samples the heap with runtime.ReadMemStats during the close: the final
// transcript is encoded once, by the store's writer, straight from the
// session's events into the buffer the driver binds, so the close adds
// about one transcript to the heap (under 1.25 × the text + 1 MiB; the
// per-event encoding reuses one scratch buffer),
// never several copies; and the stored transcript is whole.
func TestCloseStreamsTranscript(t *testing.T) {
	if testing.Short() {
		t.Skip("8 MiB of messages")
	}
	if raceEnabled {
		t.Skip("heap ceilings do not hold under -race (sync.Pool drops items)")
	}
	ctx, st, e := open(t, history.Options{AutoSave: func() int { return 0 }})
	s, c, _, err := e.Create(chat.CreateRequest{Creator: chat.JoinRequest{Nick: "c", Type: chat.Client}})
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Repeat("x", 14700)
	const n = 8 << 20 / 14700
	var last chat.Receipt
	for range n {
		if last, err = s.Send(c.UserID, chat.Msg{Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	if err := last.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak atomic.Uint64
	stop, sampled := make(chan struct{}), make(chan struct{})
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
			case <-time.After(time.Millisecond):
			}
		}
	}()
	rc, _, err := s.Leave(chat.LeaveRequest{UserID: c.UserID})
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	// The close is written after the receipt (the journal's queue): wait
	// for the record to be closed (a listing leaves the transcript out, so
	// the wait reads nothing big) before stopping the sampler.
	for deadline := time.Now().Add(20 * time.Second); ; {
		l, err := st.ListInteractions(ctx, store.InteractionFilter{Status: store.StatusClosed})
		if err == nil && len(l) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("interaction not closed: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(stop)
	<-sampled
	textBytes := int64(n * len(text))
	grown := int64(peak.Load()) - int64(base.HeapAlloc)
	ceiling := textBytes*5/4 + 1<<20
	t.Logf("%d messages, %.1f MiB of text; the close grew the heap by %.1f MiB at most (ceiling %.1f MiB)",
		n, float64(textBytes)/(1<<20), float64(grown)/(1<<20), float64(ceiling)/(1<<20))
	if grown > ceiling {
		t.Errorf("the close grew the heap by %d bytes, over the ceiling %d", grown, ceiling)
	}
	in, err := st.GetInteraction(ctx, s.ID())
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(string(in.Transcript), text); got != n {
		t.Errorf("stored transcript holds %d of the %d messages", got, n)
	}
}
