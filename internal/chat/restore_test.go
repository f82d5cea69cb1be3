package chat_test

import (
	"context"
	"testing"
	"time"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/kv"
)

// keeper is a Journal that keeps every appended event, as the intermediate
// transcript does, and counts restorations.
type keeper struct {
	events   []chat.Event
	restored int
	created  int
}

func (k *keeper) SessionCreated(*chat.Info) chat.Waiter { k.created++; return nil }
func (k *keeper) SessionUpdated(*chat.Info) chat.Waiter { return nil }
func (k *keeper) SessionClosed(*chat.Final) chat.Waiter { return nil }
func (k *keeper) EventAppended(_ string, ev *chat.Event) chat.Waiter {
	k.events = append(k.events, *ev)
	return nil
}
func (k *keeper) SessionRestored(*chat.Info) chat.Waiter { k.restored++; return nil }

// TestRestoreNormalises builds a session, "crashes" it, restores its stored
// events on a new engine and checks the reference's normalisation: same
// positions, the agent (on a lost connection) leaves with reason 8, the
// customer stays with its credential, stale read confirmations and typing
// notices are dropped, the session is marked restored and goes on.
func TestRestoreNormalises(t *testing.T) {
	k := &keeper{}
	clk := clock.NewFake(t0)
	e := chat.New(chat.Options{Clock: clk, Journal: k})
	s, c, _, err := e.Create(chat.CreateRequest{Queue: "q", Creator: chat.JoinRequest{Nick: "Ann", Type: chat.Client, Protocol: chat.Flex, Secret: "key-1"}})
	if err != nil {
		t.Fatal(err)
	}
	a, _, _ := s.Join(chat.JoinRequest{Nick: "Bob", Type: chat.Agent, Protocol: chat.Basic})
	s.Send(a.UserID, chat.Msg{Text: "hello"})
	confirm := chat.Note{Type: chat.SysCommand, Text: chat.ReadConfirm, UserData: kv.Map{chat.LastEventIDKey: "3"}}
	s.Notify(c.UserID, confirm) // pos 3: superseded by pos 5
	s.Notify(c.UserID, chat.Note{Type: chat.TypingStarted, Text: "I ne"})
	s.Notify(c.UserID, confirm) // pos 5: the live one
	s.Send(c.UserID, chat.Msg{Text: "thanks", ClientMsgID: "m-1"})
	stored := append([]chat.Event(nil), k.events...)
	stored = append(stored[:2], stored[3:]...) // position 2 was never stored

	clk.Advance(time.Minute)
	k2 := &keeper{}
	e2 := chat.New(chat.Options{Clock: clk, Journal: k2})
	r, rc, err := e2.Restore(chat.RestoreRequest{
		ID: s.ID(), Queue: "q", CreatedAt: s.CreatedAt(), Events: stored,
		Secrets: map[string]string{c.UserID: "key-1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	info := r.Info()
	if !info.Restored || info.State != chat.Alive || info.ID != s.ID() {
		t.Fatalf("restored session: restored %v, state %s, id %s", info.Restored, info.State, info.ID)
	}
	if k2.restored != 1 || k2.created != 0 {
		t.Errorf("journal told: %d restored, %d created; want 1, 0", k2.restored, k2.created)
	}
	all, next, _ := r.ReadAll(0, nil)
	if next != 8 || len(all) != 8 {
		t.Fatalf("restored transcript has %d events (next %d), want 6 stored, a placeholder and the agent's departure: %+v", len(all), next, all)
	}
	left := all[7]
	if left.Kind != chat.PartyLeft || left.From.UserID != a.UserID || left.Reason != chat.RemovedRestore {
		t.Fatalf("position 7 is %+v, want the agent leaving with reason 8", left)
	}
	if !all[2].Superseded {
		t.Error("the missing position 2 is not a placeholder nobody sees")
	}
	if !all[3].Superseded || all[5].Superseded {
		t.Errorf("read confirmations: pos 3 superseded %v (want true), pos 5 %v (want false)", all[3].Superseded, all[5].Superseded)
	}
	if !all[4].Superseded {
		t.Error("the stale typing notice is still visible")
	}
	for pos, ev := range all[:7] {
		if ev.Pos != pos {
			t.Fatalf("event at %d has Pos %d", pos, ev.Pos)
		}
	}
	p, err := r.Participant(c.UserID)
	if err != nil || p.Left || p.Secret != "key-1" || p.Protocol != chat.Flex {
		t.Fatalf("customer after restore: %+v, %v", p, err)
	}
	if ag, _ := r.Participant(a.UserID); !ag.Left {
		t.Error("the agent is still present")
	}
	// A retried send (its answer lost in the crash) is recognised.
	if rc, err := r.Send(c.UserID, chat.Msg{Text: "thanks", ClientMsgID: "m-1"}); err != nil || !rc.Duplicate || rc.Pos != 6 {
		t.Fatalf("retried send after restore: %+v, %v; want the duplicate of position 6", rc, err)
	}
	// The chat goes on: the customer writes, an agent joins again.
	rc, err = r.Send(c.UserID, chat.Msg{Text: "still there?"})
	if err != nil || rc.Pos != 8 {
		t.Fatalf("send after restore: pos %d, %v; want 8", rc.Pos, err)
	}
	if _, _, err := r.Join(chat.JoinRequest{Nick: "Bob", Type: chat.Agent, Protocol: chat.Basic}); err != nil {
		t.Fatalf("agent joins again: %v", err)
	}
	if e2.Alive() != 1 {
		t.Errorf("alive %d, want 1", e2.Alive())
	}
	if _, _, err := e2.Restore(chat.RestoreRequest{ID: s.ID(), Events: stored}); err == nil {
		t.Error("restoring a session that exists succeeded")
	}
}

// TestRestoreClosesWhenNobodyStays checks a session whose only remaining
// parties were on lost connections closes after the normalisation.
func TestRestoreClosesWhenNobodyStays(t *testing.T) {
	k := &keeper{}
	e := chat.New(chat.Options{Clock: clock.NewFake(t0), Journal: k})
	s, _, _, err := e.Create(chat.CreateRequest{Creator: chat.JoinRequest{Nick: "bot", Type: chat.Agent, Protocol: chat.Basic}})
	if err != nil {
		t.Fatal(err)
	}
	e2 := chat.New(chat.Options{Clock: clock.NewFake(t0), Journal: &keeper{}})
	r, _, err := e2.Restore(chat.RestoreRequest{ID: s.ID(), Events: k.events})
	if err != nil {
		t.Fatal(err)
	}
	if r.State() != chat.Closed || e2.Alive() != 0 {
		t.Fatalf("state %s, alive %d; want closed, 0", r.State(), e2.Alive())
	}
	if _, _, err := e2.Restore(chat.RestoreRequest{ID: "empty"}); err == nil {
		t.Error("restoring without events succeeded")
	}
}
