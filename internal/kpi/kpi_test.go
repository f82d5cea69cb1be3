package kpi_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/kpi"
)

func TestReaderAndReset(t *testing.T) {
	s := kpi.New()
	r := s.NewReader()
	s.SessionsCreated.Add(2)
	s.SessionsCurrent.Set(2)
	first := r.Snapshot(kpi.ContentNew)
	if len(first) != 3 { // session_created, session_current, process_memory
		t.Errorf("first new read: %v", first)
	}
	if got := r.Snapshot(kpi.ContentNew); len(got) > 1 { // process memory may move
		t.Errorf("second new read without updates: %v", got)
	}
	s.Reset()
	if v := s.SessionsCreated.Value(); v != 0 {
		t.Errorf("after reset session_created = %d", v)
	}
	if v := s.SessionsCurrent.Value(); v != 2 {
		t.Errorf("reset changed session_current to %d", v)
	}
	s.SessionsCreated.Inc()
	if v := s.SessionsCreated.Value(); v != 1 {
		t.Errorf("after reset and one more: %d", v)
	}
	for _, v := range r.Snapshot(kpi.ContentSet) {
		if v.Value == 0 {
			t.Errorf("content=set returned zero %s", v.Name)
		}
	}
	if s.ProcessMemory.Value() <= 0 {
		t.Error("process memory is not positive")
	}
	two := s.NewReader() // readers are independent
	if len(two.Snapshot(kpi.ContentNew)) == 0 {
		t.Error("a new reader sees nothing new")
	}
}

// TestJournal drives a real engine and checks what the journal counted.
func TestJournal(t *testing.T) {
	s := kpi.New()
	clk := clock.NewFake(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	closed := 0
	j := s.Journal()
	j.OnClosed = func() { closed++ }
	e := chat.New(chat.Options{Clock: clk, Journal: j})
	sess, _, _, err := e.Create(chat.CreateRequest{Creator: chat.JoinRequest{UserID: "c", Type: chat.Client}})
	if err != nil {
		t.Fatal(err)
	}
	if s.FlexUsers.Value() != 1 || s.SessionsCurrent.Value() != 1 {
		t.Fatalf("flex %d current %d", s.FlexUsers.Value(), s.SessionsCurrent.Value())
	}
	sess.Join(chat.JoinRequest{UserID: "a", Type: chat.Agent})
	sess.Join(chat.JoinRequest{UserID: "b", Type: chat.Agent, UserData: map[string]any{chat.KeySetPartyStyle: "BOT"}})
	sess.Send("c", chat.Msg{Text: "hi"})
	sess.Send("a", chat.Msg{Text: "hello"})
	sess.Send("b", chat.Msg{Text: "beep"})
	sess.Notify("c", chat.Note{Type: chat.TypingStarted})
	sess.Leave(chat.LeaveRequest{UserID: "c", Reason: chat.LeftDisconnect})
	sess.Close(chat.CloseRequest{Reason: chat.RemovedIdle})
	checks := map[string]int64{
		"session_created": 1, "session_closed": 1, "session_current": 0, "flex_users_current": 0,
		"message_client": 1, "message_agent": 1, "message_bot": 1, "notice_client": 1,
		"party_joined_client": 1, "party_joined_agent": 1, "party_joined_bot": 1,
		"timeout_disconnect": 1, "timeout_inactivity": 2,
	}
	for name, want := range checks {
		if got := s.Lookup(name).Value(); got != want {
			t.Errorf("%s = %d, want %d", name, got, want)
		}
	}
	if closed != 1 {
		t.Errorf("OnClosed ran %d times", closed)
	}
}

func TestPrinter(t *testing.T) {
	s := kpi.New()
	clk := clock.NewFake(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	st := kpi.PrintSettings{Period: 10 * time.Second, Content: kpi.ContentSet}
	p := s.StartPrinter(clk, log, func() kpi.PrintSettings { return st })
	defer p.Stop()
	s.SessionsCreated.Add(3)
	clk.Advance(9 * time.Second)
	if buf.Len() != 0 {
		t.Fatalf("printed before the period: %s", buf.String())
	}
	clk.Advance(time.Second)
	if !strings.Contains(buf.String(), "kpi counters") || !strings.Contains(buf.String(), "session_created=3") {
		t.Fatalf("first print: %q", buf.String())
	}
	if strings.Contains(buf.String(), "session_closed=") {
		t.Errorf("content=set printed a zero counter: %q", buf.String())
	}
	// proviso update: nothing changed, nothing printed.
	buf.Reset()
	clk.Advance(10 * time.Second)
	if buf.Len() != 0 {
		t.Errorf("update proviso printed without a change: %q", buf.String())
	}
	// proviso always prints anyway; content=new lists only what changed.
	st.Always, st.Content = true, kpi.ContentNew
	s.SessionsClosed.Inc()
	clk.Advance(10 * time.Second)
	out := buf.String()
	if !strings.Contains(out, "session_closed=1") || strings.Contains(out, "session_created=") {
		t.Errorf("content=new print: %q", out)
	}
	buf.Reset()
	clk.Advance(10 * time.Second)
	if !strings.Contains(buf.String(), "kpi counters") {
		t.Errorf("always proviso did not print: %q", buf.String())
	}
	// Period 0 stops the printing once reconfigured.
	st.Period = 0
	p.Reconfigure()
	buf.Reset()
	clk.Advance(time.Hour)
	if buf.Len() != 0 {
		t.Errorf("printed with log-output-timeout 0: %q", buf.String())
	}
}

// BenchmarkRequest is the per-request cost of counting (counters and the
// latency histogram), paid by every HTTP request.
func BenchmarkRequest(b *testing.B) {
	s := kpi.New()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			s.Request("webapi", "send", 200, 3*time.Millisecond, false)
		}
	})
}

// BenchmarkJournalMessage is the per-message cost of the counting journal
// on the engine's message path.
func BenchmarkJournalMessage(b *testing.B) {
	j := kpi.New().Journal()
	ev := &chat.Event{Kind: chat.Message, From: chat.Party{Type: chat.Agent}}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			j.EventAppended("s", ev)
		}
	})
}
