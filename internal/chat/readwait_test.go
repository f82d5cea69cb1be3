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
