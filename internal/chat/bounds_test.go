package chat_test

import (
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/confab/confab/internal/chat"
)

func boundedSettings(b chat.Bounds) chat.Settings {
	st := chat.DefaultSettings
	st.Bounds = b
	return st
}

// TestSendRate checks the per-party token bucket on the fake clock: a
// burst, then refusals, then one send per 1/rate of (fake) time, and one
// party's flood does not cost another party anything.
func TestSendRate(t *testing.T) {
	f := newFixture(t, boundedSettings(chat.Bounds{Rate: 2, Burst: 3}))
	agent := f.join("Anna", chat.Agent, chat.VisAll, nil)
	for i := range 3 {
		if _, err := f.s.Send(f.client.UserID, chat.Msg{Text: "m"}); err != nil {
			t.Fatalf("send %d within the burst: %v", i, err)
		}
	}
	if _, err := f.s.Send(f.client.UserID, chat.Msg{Text: "m"}); !errors.Is(err, chat.ErrRate) {
		t.Fatalf("send past the burst: %v, want ErrRate", err)
	}
	if _, err := f.s.Notify(f.client.UserID, chat.Note{Type: chat.TypingStarted}); !errors.Is(err, chat.ErrRate) {
		t.Fatalf("typing notice past the burst: %v, want ErrRate", err)
	}
	if _, err := f.s.Send(agent.UserID, chat.Msg{Text: "the agent is not charged"}); err != nil {
		t.Fatalf("agent send: %v", err)
	}
	f.clock.Advance(400 * time.Millisecond) // 0.8 token
	if _, err := f.s.Send(f.client.UserID, chat.Msg{Text: "m"}); !errors.Is(err, chat.ErrRate) {
		t.Fatalf("send after 0.4 s: %v, want ErrRate", err)
	}
	f.clock.Advance(100 * time.Millisecond) // 1 token
	if _, err := f.s.Send(f.client.UserID, chat.Msg{Text: "m"}); err != nil {
		t.Fatalf("send after 0.5 s: %v", err)
	}
	f.clock.Advance(time.Hour) // refills to the burst, not beyond
	for i := range 3 {
		if _, err := f.s.Send(f.client.UserID, chat.Msg{Text: "m"}); err != nil {
			t.Fatalf("send %d after an hour: %v", i, err)
		}
	}
	if _, err := f.s.Send(f.client.UserID, chat.Msg{Text: "m"}); !errors.Is(err, chat.ErrRate) {
		t.Fatalf("the bucket grew past its burst: %v", err)
	}
}

// TestThrottled checks the peek an adapter makes before reading a body:
// true only while every present customer is out of tokens, and it charges
// nothing.
func TestThrottled(t *testing.T) {
	f := newFixture(t, boundedSettings(chat.Bounds{Rate: 2, Burst: 2}))
	if f.s.Throttled() {
		t.Fatal("throttled before any send")
	}
	for range 2 {
		if _, err := f.s.Send(f.client.UserID, chat.Msg{Text: "m"}); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 { // peeking charges nothing: stays throttled, no more
		if !f.s.Throttled() {
			t.Fatal("not throttled with the customer's bucket empty")
		}
	}
	f.clock.Advance(500 * time.Millisecond) // one token
	if f.s.Throttled() {
		t.Fatal("throttled with a token back")
	}
	if _, err := f.s.Send(f.client.UserID, chat.Msg{Text: "m"}); err != nil {
		t.Fatalf("the peeks took the token: %v", err)
	}
	if !f.s.Throttled() {
		t.Fatal("not throttled after the token was used")
	}
	off := newFixture(t, boundedSettings(chat.Bounds{}))
	if off.s.Throttled() {
		t.Fatal("throttled with the rate off")
	}
}

// TestSessionFull checks session-max-messages and -transcript-bytes: at
// the limit sends are refused with ErrFull, every party gets one notice,
// and the session goes on (parties can leave, it can close).
func TestSessionFull(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    chat.Bounds
		text string
		ok   int // sends accepted
	}{
		{"by count", chat.Bounds{MaxEvents: 5}, "hi", 5},
		{"by bytes", chat.Bounds{MaxBytes: 1000}, strings.Repeat("x", 300), 3},
		{"both, count first", chat.Bounds{MaxEvents: 2, MaxBytes: 1000}, "x", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, boundedSettings(tc.b))
			agent := f.join("Anna", chat.Agent, chat.VisAll, nil)
			for i := range tc.ok {
				if _, err := f.s.Send(f.client.UserID, chat.Msg{Text: tc.text}); err != nil {
					t.Fatalf("send %d: %v", i, err)
				}
			}
			for range 3 {
				if _, err := f.s.Send(agent.UserID, chat.Msg{Text: tc.text}); !errors.Is(err, chat.ErrFull) {
					t.Fatalf("send past the limit: %v, want ErrFull", err)
				}
			}
			notices := 0
			for _, ev := range f.read(f.client.UserID) {
				if ev.Kind == chat.Notice && ev.Text == chat.FullNotice && ev.From.Type == chat.System {
					notices++
				}
			}
			if notices != 1 {
				t.Errorf("%d full notices, want 1", notices)
			}
			if _, closed, err := f.s.Leave(chat.LeaveRequest{UserID: agent.UserID, After: chat.ForceClose}); err != nil || !closed {
				t.Fatalf("the full session could not close: %v %v", closed, err)
			}
		})
	}
}

// TestFloodMemoryBounded reproduces the attack of issue 12 (20,000
// messages of 14.7 KB from one chat) against the default bounds and checks
// the heap stays under a ceiling: the session keeps at most
// session-max-transcript-bytes of text.
func TestFloodMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 20,000 messages")
	}
	f := newFixture(t, boundedSettings(chat.Bounds{MaxEvents: 5000, MaxBytes: 8 << 20, Rate: 5, Burst: 20}))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	text := strings.Repeat("x", 14700)
	var accepted, full, rate int
	for range 20000 {
		f.clock.Advance(time.Second) // a patient flooder: never over the rate
		_, err := f.s.Send(f.client.UserID, chat.Msg{Text: strings.Clone(text)})
		switch {
		case err == nil:
			accepted++
		case errors.Is(err, chat.ErrFull):
			full++
		case errors.Is(err, chat.ErrRate):
			rate++
		default:
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	grown := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	const ceiling = 24 << 20 // 8 MiB of text, its events and slack
	t.Logf("accepted %d, full %d, rate %d; heap grew %.1f MiB", accepted, full, rate, float64(grown)/(1<<20))
	if accepted != 8<<20/14700 || full != 20000-accepted {
		t.Errorf("accepted %d, refused as full %d", accepted, full)
	}
	if grown > ceiling {
		t.Errorf("heap grew %d bytes, more than the ceiling %d", grown, ceiling)
	}
	runtime.KeepAlive(f.s)
}
