package chat_test

import (
	"errors"
	"testing"
	"time"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/clock"
)

// TestAdmit: the admission hook refuses creations and restorations with
// ErrLimit and is told which is which.
func TestAdmit(t *testing.T) {
	var asked []bool
	refuse := false
	e := chat.New(chat.Options{Clock: clock.NewFake(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)), Admit: func(restore bool) error {
		asked = append(asked, restore)
		if refuse {
			return errors.New("limited")
		}
		return nil
	}})
	creator := chat.JoinRequest{UserID: "c", Type: chat.Client}
	if _, _, _, err := e.Create(chat.CreateRequest{Creator: creator}); err != nil {
		t.Fatal(err)
	}
	refuse = true
	if _, _, _, err := e.Create(chat.CreateRequest{Creator: creator}); !errors.Is(err, chat.ErrLimit) {
		t.Fatalf("refused create: %v", err)
	}
	ev := chat.Event{Kind: chat.NewParty, From: chat.Party{UserID: "c", Num: 1, Type: chat.Client}}
	if _, _, err := e.Restore(chat.RestoreRequest{ID: "r1", Events: []chat.Event{ev}}); !errors.Is(err, chat.ErrLimit) {
		t.Fatalf("refused restore: %v", err)
	}
	if len(asked) != 3 || asked[0] || asked[1] || !asked[2] {
		t.Errorf("admission asked %v, want [false false true]", asked)
	}
	if e.Alive() != 1 {
		t.Errorf("alive %d after refusals, want 1", e.Alive())
	}
}
