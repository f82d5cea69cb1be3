package history_test

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/history"
	"github.com/confab/confab/internal/kv"
	"github.com/confab/confab/internal/pii"
	"github.com/confab/confab/internal/restore"
	"github.com/confab/confab/internal/store"
	"github.com/confab/confab/internal/store/postgres"
	"github.com/confab/confab/internal/store/postgres/pgtest"
	"github.com/confab/confab/internal/store/sqlite"
)

// finalCapture is the engine's journal in TestFinalFromStoreMatchesMemory:
// it keeps today's final transcript of every closed session (EncodeFinal,
// from the session's events in memory) before passing the close on.
type finalCapture struct {
	*history.Journal
	mu   sync.Mutex // guards the following
	want map[string][]byte
}

func (c *finalCapture) SessionClosed(f *chat.Final) chat.Waiter {
	doc, err := history.EncodeFinal(f)
	if err != nil {
		panic(err)
	}
	c.mu.Lock()
	c.want[f.ID] = doc
	c.mu.Unlock()
	return c.Journal.SessionClosed(f)
}

// memoryRefused is the store the journal closes through: for a session
// whose final transcript must come from the stored events, the close's
// Write (the document from memory) is replaced by one writing a document
// no session has, so a store that fell back to it fails the comparison.
type memoryRefused struct {
	store.Store
	t        *testing.T
	composed func(id string) bool
}

func (m memoryRefused) CloseInteraction(ctx context.Context, id string, closedAt time.Time, tr store.JSONWriter, stats, userData json.RawMessage) error {
	if m.composed(id) {
		if tr.Events == nil {
			m.t.Errorf("%s: closed without FinalEvents", id)
		}
		tr.Write = func(w io.Writer) error { _, err := io.WriteString(w, `{"fromMemory":true}`); return err }
	}
	return m.Store.CloseInteraction(ctx, id, closedAt, tr, stats, userData)
}

// TestFinalFromStoreMatchesMemory runs a varied corpus of sessions through
// a journal writing final transcripts from the stored events
// (Options.FinalFromStore) and compares every stored final transcript
// with the bytes today's encoding from memory gives for the same session:
// notices (typing, custom with user data, pushed URL, nickname, system),
// attachments (attributes, client message ids, user data), masking under
// history-final (the masked event a literal) and always, transfers and a
// silent supervisor, sessions restored on a second engine, sessions whose
// events were moved to event_cold (SQLite, a short event log), and
// sessions with no stored events (transcript-auto-save 0) or only some
// (switched on mid-session), which keep today's path. On SQLite and, with
// CONFAB_TEST_POSTGRES_DSN, PostgreSQL (composed in the backend).
func TestFinalFromStoreMatchesMemory(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		ctx := context.Background()
		st, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{EventLogSpan: 64})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close(ctx)
		finalCorpus(t, st)
	})
	t.Run("postgres", func(t *testing.T) {
		dsn, schema := pgtest.Schema(t)
		ctx := context.Background()
		st, err := postgres.Open(ctx, dsn, postgres.Options{Schema: schema, MaxConns: 4})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close(ctx)
		finalCorpus(t, st)
	})
}

func finalCorpus(t *testing.T, st store.Store) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	start := time.Date(2026, 12, 2, 5, 0, 0, 0, time.UTC)
	fk := clock.NewFake(start)
	var autoSave atomic.Int32
	autoSave.Store(1)
	notComposed := map[string]bool{} // sessions whose close must fall back
	var ncMu sync.Mutex
	refused := memoryRefused{Store: st, t: t, composed: func(id string) bool {
		ncMu.Lock()
		defer ncMu.Unlock()
		return !notComposed[id]
	}}
	capture := &finalCapture{want: map[string][]byte{}}
	newEngine := func() (*chat.Engine, *history.Journal) {
		j := history.New(history.Options{Store: refused, AutoSave: func() int { return int(autoSave.Load()) },
			FinalFromStore: true, Clock: fk})
		return chat.New(chat.Options{Clock: fk, Journal: &finalCapture{Journal: j, want: capture.want}}), j
	}
	// One capture map for both engines' journals.
	e, j := newEngine()
	capture.Journal = j
	wait := func(rc chat.Receipt, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		if err := rc.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	tick := func(d time.Duration) { fk.Advance(d) }
	var ids []string
	session := func(e *chat.Engine, subject string, ud kv.Map) (*chat.Session, chat.Participant) {
		t.Helper()
		s, c, rc, err := e.Create(chat.CreateRequest{Subject: subject, Creator: chat.JoinRequest{Nick: "Ann \"<c>\"", Type: chat.Client,
			UserData: ud, Text: "hello"}})
		wait(rc, err)
		ids = append(ids, s.ID())
		return s, c
	}
	join := func(s *chat.Session, req chat.JoinRequest) chat.Participant {
		t.Helper()
		p, rc, err := s.Join(req)
		wait(rc, err)
		return p
	}
	leave := func(s *chat.Session, id string) {
		t.Helper()
		rc, _, err := s.Leave(chat.LeaveRequest{UserID: id})
		wait(rc, err)
	}
	send := func(s *chat.Session, from string, m chat.Msg) {
		t.Helper()
		tick(1700 * time.Millisecond)
		rc, err := s.Send(from, m)
		wait(rc, err)
	}
	note := func(s *chat.Session, from string, n chat.Note) {
		t.Helper()
		tick(900 * time.Millisecond)
		rc, err := s.Notify(from, n)
		wait(rc, err)
	}

	// Plain, with a transfer between agents and a silent supervisor.
	s, c := session(e, "order 17", kv.Map{"EmailAddress": "a@example.com", "n": 1.5})
	a1 := join(s, chat.JoinRequest{Nick: "Bob", Type: chat.Agent, PersonID: "bob"})
	send(s, c.UserID, chat.Msg{Text: "where is my order?", Type: "text"})
	send(s, a1.UserID, chat.Msg{Text: "checking \u2028 <b>", Visibility: chat.VisAll})
	sup := join(s, chat.JoinRequest{Nick: "Sue", Type: chat.Supervisor, PersonID: "sue", Visibility: chat.VisInt})
	a2 := join(s, chat.JoinRequest{Nick: "Cat", Type: chat.Agent, PersonID: "cat"})
	send(s, a1.UserID, chat.Msg{Text: "over to Cat", Visibility: chat.VisInt})
	leave(s, a1.UserID)
	send(s, a2.UserID, chat.Msg{Text: "hi, Cat here"})
	leave(s, sup.UserID)
	leave(s, c.UserID)

	// Notices and attachments.
	s, c = session(e, "", nil)
	a1 = join(s, chat.JoinRequest{Nick: "Bob", Type: chat.Agent, PersonID: "bob"})
	note(s, c.UserID, chat.Note{Type: chat.TypingStarted, Text: "wher"})
	note(s, c.UserID, chat.Note{Type: chat.TypingStopped})
	send(s, c.UserID, chat.Msg{Text: "file", Attrs: kv.Map{"file": kv.Map{"id": "f1", "name": "a \"b\".pdf", "size": 1234.0}}, ClientMsgID: "m-1"})
	note(s, a1.UserID, chat.Note{Type: chat.CustomNotice, Text: "custom", UserData: kv.Map{"k": "v", "z": kv.Map{"y": true}}})
	note(s, a1.UserID, chat.Note{Type: chat.PushURL, Text: "https://example.com/?a=1&b=<2>"})
	if rc, err := s.ChangeNickname(c.UserID, "Ann B"); err != nil {
		t.Fatal(err)
	} else {
		wait(rc, nil)
	}
	if rc, err := s.AddSystemNotice(chat.Note{Type: chat.CustomNotice, Text: "system"}); err != nil {
		t.Fatal(err)
	} else {
		wait(rc, nil)
	}
	if err := s.UpdateUserData(c.UserID, kv.Map{"added": "later"}); err != nil {
		t.Fatal(err)
	}
	tick(3 * time.Hour)
	rc, _, err := s.Close(chat.CloseRequest{AskerID: a1.UserID, Reason: chat.RemovedByServer})
	wait(rc, err)

	// Masking: history-final (the stored copy is clear, the final masked:
	// that event is a literal) and always (both masked).
	rules, err := pii.Compile(pii.Defaults(), pii.Options{DefaultSpec: pii.Spec{Digits: true}, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for _, area := range []pii.Area{pii.HistoryFinal, pii.Always} {
		e.SetMasking(&pii.Policy{Rules: rules, Area: area, Subject: pii.SubjectHistory})
		s, c = session(e, "card 4111111111111111", nil)
		send(s, c.UserID, chat.Msg{Text: "my card is 4111 1111 1111 1111"})
		send(s, c.UserID, chat.Msg{Text: "no digits"})
		leave(s, c.UserID)
	}
	e.SetMasking(nil)

	// Many events: with a 64-row event log, the earlier ones are moved to
	// event_cold (SQLite) before the close.
	s, c = session(e, "long", nil)
	a1 = join(s, chat.JoinRequest{Nick: "Bob", Type: chat.Agent, PersonID: "bob"})
	var last chat.Receipt
	for i := range 300 { // one wait: many events a batch
		from := c.UserID
		if i%2 == 1 {
			from = a1.UserID
		}
		tick(1100 * time.Millisecond)
		if last, err = s.Send(from, chat.Msg{Text: strings.Repeat("x", i%40)}); err != nil {
			t.Fatal(err)
		}
	}
	wait(last, nil)
	send(s, a1.UserID, chat.Msg{Text: "a batch after them: it moves them"})
	send(s, c.UserID, chat.Msg{Text: "ok"})
	if sq, ok := st.(*sqlite.Store); ok {
		if w, err := sq.WriterStats(ctx); err != nil || w.EventLogMoved == 0 {
			t.Errorf("no event was moved to event_cold before the close (%d, %v)", w.EventLogMoved, err)
		}
	}
	leave(s, c.UserID)

	// Transcript-auto-save 0 for the whole session, and for its first
	// events only: no FinalEvents, or some events missing from the store.
	autoSave.Store(0)
	s, c = session(e, "unsaved", nil)
	ncMu.Lock()
	notComposed[s.ID()] = true
	ncMu.Unlock()
	send(s, c.UserID, chat.Msg{Text: "not stored"})
	leave(s, c.UserID)
	s, c = session(e, "half saved", nil)
	ncMu.Lock()
	notComposed[s.ID()] = true
	ncMu.Unlock()
	send(s, c.UserID, chat.Msg{Text: "not stored"})
	autoSave.Store(1)
	send(s, c.UserID, chat.Msg{Text: "stored"})
	leave(s, c.UserID)

	// Restored: two sessions left open on this engine, restored on a
	// second one, continued and closed there.
	var open []string
	for range 2 {
		s, c = session(e, "restored", kv.Map{"PhoneNumber": "555"})
		a1 = join(s, chat.JoinRequest{Nick: "Bob", Type: chat.Agent, PersonID: "bob"})
		send(s, c.UserID, chat.Msg{Text: "before the restart"})
		note(s, c.UserID, chat.Note{Type: chat.TypingStarted})
		open = append(open, s.ID())
	}
	if err := j.Close(ctx); err != nil {
		t.Fatal(err)
	}
	e2, j2 := newEngine()
	if rep, err := restore.Run(ctx, restore.Options{Engine: e2, Store: st, Mode: "simple"}); err != nil || rep.Restored != len(open) {
		t.Fatalf("restore: %v, %v", rep, err)
	}
	for _, id := range open {
		s, err := e2.Get(id)
		if err != nil {
			t.Fatal(err)
		}
		var cust, agent string
		evs, _, _ := s.ReadAll(0, nil)
		for _, ev := range evs {
			if ev.Kind == chat.NewParty && ev.From.Type == chat.Client {
				cust = ev.From.UserID
			}
			if ev.Kind == chat.NewParty && ev.From.Type == chat.Agent {
				agent = ev.From.UserID
			}
		}
		if p, err := s.Participant(agent); err == nil && !p.Left {
			send(s, agent, chat.Msg{Text: "after the restart"})
		}
		if p, err := s.Participant(cust); err == nil && !p.Left {
			send(s, cust, chat.Msg{Text: "thanks"})
			leave(s, cust)
		} else if s.State() != chat.Closed {
			rc, _, err := s.Close(chat.CloseRequest{AskerID: agent})
			wait(rc, err)
		}
	}
	if err := j2.Close(ctx); err != nil {
		t.Fatal(err)
	}

	composed := 0
	for _, id := range ids {
		capture.mu.Lock()
		want, ok := capture.want[id]
		capture.mu.Unlock()
		if !ok {
			t.Errorf("%s: never closed", id)
			continue
		}
		in, err := st.GetInteraction(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if string(in.Transcript) != string(want) {
			t.Errorf("%s: final transcript\n from the store %s\n   from memory %s", id, in.Transcript, want)
		}
		if !notComposed[id] {
			composed++
		}
	}
	if composed != 7 || len(ids) != composed+2 {
		t.Errorf("%d sessions, %d composed from the stored events", len(ids), composed)
	}
}
