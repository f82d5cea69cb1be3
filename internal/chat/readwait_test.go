package chat_test

import (
	"testing"

	"github.com/confab/confab/internal/chat"
)

// TestReadNChanged: the channel a read returns is open until the next
// change, and the read after that change sees it.
func TestReadNChanged(t *testing.T) {
	e := chat.New(chat.Options{})
	s, cust, _, err := e.Create(chat.CreateRequest{Creator: chat.JoinRequest{Nick: "c", Type: chat.Client}})
	if err != nil {
		t.Fatal(err)
	}
	evs, next, state, ch, err := s.ReadNChanged(cust.UserID, 0, 0, nil)
	if err != nil || len(evs) != 1 || state != chat.Alive {
		t.Fatalf("first read: %d events, %v, %v", len(evs), state, err)
	}
	select {
	case <-ch:
		t.Fatal("changed before any change")
	default:
	}
	if _, err := s.Send(cust.UserID, chat.Msg{Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ch:
	default:
		t.Fatal("the send did not close the channel of the read before it")
	}
	evs, _, _, ch2, err := s.ReadNChanged(cust.UserID, next, 0, nil)
	if err != nil || len(evs) != 1 || evs[0].Text != "hi" {
		t.Fatalf("second read: %+v, %v", evs, err)
	}
	if ch2 == ch {
		t.Error("the second read returned the closed channel")
	}
	if _, _, _, _, err := s.ReadNChanged("nobody", 0, 0, nil); err == nil {
		t.Error("a stranger read the session")
	}
}

// TestOnChange: a callback registered against a read's channel runs once,
// at the next change and not before; one registered against a channel
// already closed is refused (the caller reads again).
func TestOnChange(t *testing.T) {
	e := chat.New(chat.Options{})
	s, cust, _, err := e.Create(chat.CreateRequest{Creator: chat.JoinRequest{Nick: "c", Type: chat.Client}})
	if err != nil {
		t.Fatal(err)
	}
	_, next, _, ch, err := s.ReadNChanged(cust.UserID, 0, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	if !s.OnChange(ch, func() { calls++ }) {
		t.Fatal("OnChange refused a channel of the last read")
	}
	if !s.OnChange(ch, func() { calls += 10 }) {
		t.Fatal("OnChange refused a second callback")
	}
	if calls != 0 {
		t.Fatalf("called %d before any change", calls)
	}
	if _, err := s.Send(cust.UserID, chat.Msg{Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	if calls != 11 {
		t.Fatalf("after one change the callbacks added %d, want 11 (each once)", calls)
	}
	if s.OnChange(ch, func() { t.Error("a callback on a closed channel ran") }) {
		t.Error("OnChange kept a callback for a channel closed by a change")
	}
	if _, err := s.Send(cust.UserID, chat.Msg{Text: "again"}); err != nil {
		t.Fatal(err)
	}
	if calls != 11 {
		t.Errorf("a callback ran again at the second change: %d", calls)
	}
	_, _, _, ch2, _ := s.ReadNChanged(cust.UserID, next, 0, nil)
	done := false
	if !s.OnChange(ch2, func() { done = true }) {
		t.Fatal("OnChange refused the new read's channel")
	}
	if _, _, err := s.Close(chat.CloseRequest{}); err != nil {
		t.Fatal(err)
	}
	if !done {
		t.Error("closing the session did not call the callback")
	}
}
