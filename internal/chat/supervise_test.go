package chat_test

import (
	"errors"
	"testing"

	"github.com/confab/confab/internal/chat"
)

func TestRevealAndMonitored(t *testing.T) {
	f := newFixture(t, chat.Settings{})
	sup, _, err := f.s.Join(chat.JoinRequest{Nick: "Sue", Type: chat.Supervisor, Visibility: chat.VisVIP, PersonID: "sue"})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.s.MarkMonitored(); err != nil {
		t.Fatal(err)
	}
	if !f.s.Info().Monitored {
		t.Fatal("Info().Monitored not set")
	}
	if _, err := f.s.Send(sup.UserID, chat.Msg{Text: "watching", Visibility: chat.VisVIP}); err != nil {
		t.Fatal(err)
	}
	seen := func() (joins int, texts []string) {
		evs, _, _, err := f.s.Read(f.client.UserID, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			if ev.Kind == chat.NewParty && ev.From.UserID == sup.UserID {
				joins++
			}
			if ev.Kind == chat.Message {
				texts = append(texts, ev.Text)
			}
		}
		return joins, texts
	}
	if j, txt := seen(); j != 0 || len(txt) != 0 {
		t.Fatalf("before barge-in the customer saw %d joins, %v", j, txt)
	}
	rc, revealed, err := f.s.Reveal(sup.UserID)
	if err != nil || !revealed {
		t.Fatalf("Reveal: %v %v", revealed, err)
	}
	if _, err := f.s.Send(sup.UserID, chat.Msg{Text: "hello, I am the supervisor"}); err != nil {
		t.Fatal(err)
	}
	j, txt := seen()
	if j != 1 || len(txt) != 1 || txt[0] != "hello, I am the supervisor" {
		t.Fatalf("after barge-in the customer saw %d joins, %v", j, txt)
	}
	if p, _ := f.s.Participant(sup.UserID); p.Visibility != chat.VisAll {
		t.Fatalf("visibility %s", p.Visibility)
	}
	if _, again, _ := f.s.Reveal(sup.UserID); again || rc.Pos == 0 {
		t.Fatalf("second Reveal revealed=%v, first pos %d", again, rc.Pos)
	}
	if _, _, err := f.s.Reveal("nobody"); !errors.Is(err, chat.ErrNotParticipant) {
		t.Fatalf("Reveal of a stranger: %v", err)
	}
}
