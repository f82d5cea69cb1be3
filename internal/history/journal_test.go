package history_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/history"
	"github.com/confab/confab/internal/kv"
	"github.com/confab/confab/internal/pii"
	"github.com/confab/confab/internal/store"
	"github.com/confab/confab/internal/store/sqlite"
)

// TestContactIdentification creates chats with and without contact
// attributes and checks which get a contact, against a real SQLite store.
func TestContactIdentification(t *testing.T) {
	ctx, st, e := open(t, history.Options{AutoSave: func() int { return 1 }})

	tests := []struct {
		name        string
		ud          kv.Map
		wantContact string // "new", "same", or "" for none
	}{
		{"email creates a contact", kv.Map{"EmailAddress": "ann@example.com"}, "new"},
		{"same email in other case finds it", kv.Map{"EmailAddress": " ANN@example.com "}, "same"},
		{"anonymous chat creates none", kv.Map{"FirstName": "Ann"}, ""},
		{"phone number identifies when no email", kv.Map{"PhoneNumber": "+15550100"}, "new"},
		{"IdentifyCreateContact=1 neither identifies nor creates", kv.Map{"EmailAddress": "ann@example.com", "IdentifyCreateContact": "1"}, ""},
		{"IdentifyCreateContact=2 identifies only", kv.Map{"EmailAddress": "bob@example.com", "IdentifyCreateContact": "2"}, ""},
		{"IdentifyCreateContact=2 finds an existing one", kv.Map{"EmailAddress": "ann@example.com", "IdentifyCreateContact": "2"}, "same"},
	}
	var first string
	for _, tt := range tests {
		s, _, rc, err := e.Create(chat.CreateRequest{Queue: "q", UserData: tt.ud, Creator: chat.JoinRequest{Nick: "c", Type: chat.Client}})
		if err != nil {
			t.Fatal(err)
		}
		if err := rc.Wait(ctx); err != nil {
			t.Fatalf("%s: creation: %v", tt.name, err)
		}
		in, err := st.GetInteraction(ctx, s.ID())
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		switch tt.wantContact {
		case "":
			if in.ContactID != "" {
				t.Errorf("%s: contact %s, want none", tt.name, in.ContactID)
			}
		case "new":
			if in.ContactID == "" || in.ContactID == first {
				t.Errorf("%s: contact %q, want a new one", tt.name, in.ContactID)
			}
			if first == "" {
				first = in.ContactID
			}
		case "same":
			if in.ContactID != first {
				t.Errorf("%s: contact %q, want %q", tt.name, in.ContactID, first)
			}
		}
	}
}

// TestStoredCopiesFollowApplyArea sends a card number under each
// apply-area and checks the intermediate and final stored transcripts.
func TestStoredCopiesFollowApplyArea(t *testing.T) {
	rules, err := pii.Compile(pii.Defaults(), pii.Options{DefaultSpec: pii.Spec{Digits: true}, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		area                pii.Area
		intermediate, final bool // masked?
	}{
		{pii.Always, true, true}, {pii.HistoryAll, true, true},
		{pii.HistoryFinal, false, true}, {pii.Never, false, false},
	} {
		ctx, st, e := open(t, history.Options{AutoSave: func() int { return 1 }})
		e.SetMasking(&pii.Policy{Rules: rules, Area: tt.area, Subject: pii.SubjectHistory})
		s, c, _, err := e.Create(chat.CreateRequest{Subject: "card 4111111111111111", Creator: chat.JoinRequest{Nick: "c", Type: chat.Client}})
		if err != nil {
			t.Fatal(err)
		}
		rc, err := s.Send(c.UserID, chat.Msg{Text: "my card is 4111 1111 1111 1111"})
		if err != nil {
			t.Fatal(err)
		}
		if err := rc.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		rows, err := st.LoadEvents(ctx, s.ID())
		if err != nil || len(rows) != 2 {
			t.Fatalf("%s: intermediate rows %d, %v", tt.area, len(rows), err)
		}
		checkMasked(t, tt.area.String()+" intermediate", string(rows[1].Data), tt.intermediate)
		rc, _, err = s.Leave(chat.LeaveRequest{UserID: c.UserID})
		if err != nil {
			t.Fatal(err)
		}
		if err := rc.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		in, err := st.GetInteraction(ctx, s.ID())
		if err != nil || in.Status != store.StatusClosed {
			t.Fatalf("interaction %+v, %v", in, err)
		}
		checkMasked(t, tt.area.String()+" final", string(in.Transcript), tt.final)
		if masked := strings.Contains(in.Subject, "****"); masked != tt.area.Final() {
			t.Errorf("%s: stored subject %q", tt.area, in.Subject)
		}
	}
}

func checkMasked(t *testing.T, where, stored string, masked bool) {
	t.Helper()
	hasClear := strings.Contains(stored, "4111 1111 1111 1111")
	hasMasked := strings.Contains(stored, "**** **** **** ****") && strings.Contains(stored, `"pii-cleanup"`)
	if masked && (hasClear || !hasMasked) || !masked && (!hasClear || hasMasked) {
		t.Errorf("%s: want masked=%v, stored %s", where, masked, stored)
	}
}

// open starts a history journal with opts on a real SQLite store in a
// temporary directory, and an engine writing through it; both are closed
// when the test ends.
func open(t *testing.T, opts history.Options) (context.Context, store.Store, *chat.Engine) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	st, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	opts.Store = st
	j := history.New(opts)
	t.Cleanup(func() {
		j.Close(ctx)
		st.Close(ctx)
		cancel()
	})
	return ctx, st, chat.New(chat.Options{Clock: clock.Real(), Journal: j})
}

// SaveLive (a graceful shutdown with transcript-auto-save=0) writes the
// same intermediate copies as auto-save: masked under history-all.
func TestSaveLiveStoresMaskedCopies(t *testing.T) {
	rules, err := pii.Compile(pii.Defaults(), pii.Options{DefaultSpec: pii.Spec{Digits: true}, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	j := history.New(history.Options{Store: st, AutoSave: func() int { return 0 }})
	defer st.Close(ctx)
	defer j.Close(ctx)
	e := chat.New(chat.Options{Clock: clock.Real(), Journal: j})
	e.SetMasking(&pii.Policy{Rules: rules, Area: pii.HistoryAll})
	s, c, _, err := e.Create(chat.CreateRequest{Creator: chat.JoinRequest{Nick: "c", Type: chat.Client}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Send(c.UserID, chat.Msg{Text: "my card is 4111 1111 1111 1111"}); err != nil {
		t.Fatal(err)
	}
	if _, err := j.SaveLive(ctx, []*chat.Session{s}); err != nil {
		t.Fatal(err)
	}
	rows, err := st.LoadEvents(ctx, s.ID())
	if err != nil || len(rows) != 2 {
		t.Fatalf("rows %d, %v", len(rows), err)
	}
	checkMasked(t, "SaveLive", string(rows[1].Data), true)
}
