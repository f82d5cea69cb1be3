package chat_test

import (
	"fmt"
	"go/build"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/clock"
)

// TestConcurrentWriters runs 64 goroutines writing to one shared session and
// 64 writing to sessions of their own, with readers waiting on Changed, and
// checks that no event is lost or duplicated and positions stay contiguous.
func TestConcurrentWriters(t *testing.T) {
	const writers, perWriter = 64, 200
	e := chat.New(chat.Options{Clock: clock.Real(), Settings: chat.Settings{SessionLimit: 1000, ClosedGrace: time.Minute}})
	create := func() (*chat.Session, string) {
		s, c, _, err := e.Create(chat.CreateRequest{Creator: chat.JoinRequest{Nick: "c", Type: chat.Client}})
		if err != nil {
			t.Fatal(err)
		}
		return s, c.UserID
	}
	shared, sharedClient := create()
	agents := make([]string, writers)
	for i := range agents {
		p, _, err := shared.Join(chat.JoinRequest{Nick: fmt.Sprint("a", i), Type: chat.Agent})
		if err != nil {
			t.Fatal(err)
		}
		agents[i] = p.UserID
	}
	// A reader follows the shared session through Changed while it is written.
	done := make(chan struct{})
	seen := make(chan int, 1)
	go func() {
		next, count := 0, 0
		var buf []chat.Event
		for {
			ch := shared.Changed()
			var err error
			buf, next, _, err = shared.Read(sharedClient, next, buf[:0])
			if err != nil {
				t.Error(err)
				return
			}
			for _, ev := range buf {
				if ev.Kind == chat.Message {
					count++
				}
			}
			select {
			case <-ch:
			case <-done:
				// The writers have finished: once a read finds nothing new,
				// the reader has seen everything.
				if len(buf) == 0 {
					seen <- count
					return
				}
			}
		}
	}()

	var wg sync.WaitGroup
	own := make([]*chat.Session, writers)
	for i := 0; i < writers; i++ {
		s, client := create()
		own[i] = s
		wg.Add(2)
		go func(agent string) {
			defer wg.Done()
			for j := 0; j < perWriter; j++ {
				if _, err := shared.Send(agent, chat.Msg{Text: fmt.Sprint(agent, ":", j)}); err != nil {
					t.Error(err)
					return
				}
			}
		}(agents[i])
		go func(s *chat.Session, client string) {
			defer wg.Done()
			for j := 0; j < perWriter; j++ {
				if _, err := s.Send(client, chat.Msg{Text: fmt.Sprint(j)}); err != nil {
					t.Error(err)
					return
				}
			}
		}(s, client)
	}
	wg.Wait()
	close(done)

	checkSession := func(name string, s *chat.Session, wantMessages int) {
		evs, next, _ := s.ReadAll(0, nil)
		if next != len(evs) {
			t.Fatalf("%s: next %d != %d events", name, next, len(evs))
		}
		msgs := 0
		lastBySender := map[string]int{}
		for i, ev := range evs {
			if ev.Pos != i {
				t.Fatalf("%s: event %d has position %d", name, i, ev.Pos)
			}
			if ev.Kind != chat.Message {
				continue
			}
			msgs++
			// Each sender's messages appear once each, in its own order.
			var n int
			fmt.Sscanf(ev.Text[strings.LastIndex(ev.Text, ":")+1:], "%d", &n)
			if last, ok := lastBySender[ev.From.UserID]; ok && n != last+1 {
				t.Fatalf("%s: sender %s message %d follows %d", name, ev.From.UserID, n, last)
			}
			lastBySender[ev.From.UserID] = n
		}
		if msgs != wantMessages {
			t.Fatalf("%s: %d messages, want %d", name, msgs, wantMessages)
		}
	}
	checkSession("shared", shared, writers*perWriter)
	for i, s := range own {
		checkSession(fmt.Sprint("own ", i), s, perWriter)
	}
	select {
	case n := <-seen:
		if n != writers*perWriter {
			t.Fatalf("the waiting reader saw %d messages, want %d", n, writers*perWriter)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the waiting reader did not finish")
	}
}

// TestEngineImportsNoIO enforces that the engine stays free of network and
// database code.
func TestEngineImportsNoIO(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		for _, banned := range []string{"net/http", "database/sql", "os/exec", "github.com/confab/confab/internal/store", "github.com/confab/confab/internal/api"} {
			if imp == banned || strings.HasPrefix(imp, banned+"/") {
				t.Errorf("package chat imports %s", imp)
			}
		}
		if imp == "net" {
			t.Errorf("package chat imports net")
		}
	}
}

// BenchmarkSend adds one message to a session with three parties and a
// waiting reader, the engine's hot path. A fresh session is started every
// 256 messages (outside the timer) so the benchmark measures a realistic
// transcript rather than one that grows to millions of events.
func BenchmarkSend(b *testing.B) {
	e := chat.New(chat.Options{Clock: clock.Real(), Settings: chat.Settings{SessionLimit: 1 << 30, ClosedGrace: time.Minute}})
	var s *chat.Session
	var client, agent chat.Participant
	start := func() {
		var err error
		s, client, _, err = e.Create(chat.CreateRequest{Creator: chat.JoinRequest{Nick: "c", Type: chat.Client}})
		if err != nil {
			b.Fatal(err)
		}
		agent, _, _ = s.Join(chat.JoinRequest{Nick: "a", Type: chat.Agent})
		if _, _, err := s.Join(chat.JoinRequest{Nick: "s", Type: chat.Supervisor, Visibility: chat.VisVIP}); err != nil {
			b.Fatal(err)
		}
	}
	msg := chat.Msg{Text: "hello there", Type: "text"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if i%256 == 0 {
			b.StopTimer()
			start()
			b.StartTimer()
		}
		_ = s.Changed() // a waiter is registered, as a push connection would be
		from := agent.UserID
		if i&1 == 0 {
			from = client.UserID
		}
		if _, err := s.Send(from, msg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSendParallel sends to many sessions from all cores at once.
func BenchmarkSendParallel(b *testing.B) {
	e := chat.New(chat.Options{Clock: clock.Real(), Settings: chat.Settings{SessionLimit: 1 << 20, ClosedGrace: time.Minute}})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		s, client, _, _ := e.Create(chat.CreateRequest{Creator: chat.JoinRequest{Nick: "c", Type: chat.Client}})
		msg := chat.Msg{Text: "hello"}
		for pb.Next() {
			if _, err := s.Send(client.UserID, msg); err != nil {
				b.Fatal(err)
			}
		}
	})
}
