package routing_test

import (
	"testing"
	"time"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/kv"
	"github.com/confab/confab/internal/routing"
)

// TestStreamKeptChangesHoldTheirAttachedData checks the changes the stream
// keeps for resuming without a subscriber, whose attached data is built
// only when read: a resumed subscriber gets each change's attached data as
// it was at that change (the user data before and after an update, the
// IsOnline of each), and a live subscriber gets it built at once.
func TestStreamKeptChangesHoldTheirAttachedData(t *testing.T) {
	f := newFixture(t, nil, chat.Settings{})
	f.customer(t, "q", false, nil) // seq 1: resuming after it replays the rest
	s, p := f.customer(t, "q", false, kv.Map{"FirstName": "Kim", "nested": kv.Map{"k": "v1"}})
	if err := s.UpdateUserData(p.UserID, kv.Map{"FirstName": "Lee", "nested": kv.Map{"k": "v2"}}); err != nil {
		t.Fatal(err)
	}
	live, _ := f.router.Subscribe("", 0)
	defer live.Close()
	if _, _, err := s.Leave(chat.LeaveRequest{UserID: p.UserID}); err != nil { // the customer leaves: IsOnline 0
		t.Fatal(err)
	}

	next := func(sub *routing.Subscription) routing.Change {
		t.Helper()
		select {
		case c := <-sub.C():
			return c
		case <-time.After(5 * time.Second):
			t.Fatal("no change")
		}
		return routing.Change{}
	}
	type want struct {
		kind, first, nested, online string
	}
	check := func(who string, c routing.Change, w want) {
		t.Helper()
		ud := c.Interaction.UserData
		nested, _ := ud["nested"].(kv.Map)
		if c.Interaction.ID != s.ID() || c.Type != w.kind || ud["FirstName"] != w.first || nested["k"] != w.nested ||
			ud[routing.KeyIsOnline] != w.online || ud[routing.KeySessionID] != s.ID() || ud[routing.KeyAppName] == nil {
			t.Errorf("%s: change %d %s of %s, attached data %v; want %+v", who, c.Seq, c.Type, c.Interaction.ID, ud, w)
		}
	}
	closed := want{routing.ChangeClosed, "Lee", "v2", "0"}
	var c routing.Change
	for c = next(live); c.Type != routing.ChangeClosed; c = next(live) {
	}
	check("live", c, closed)

	again, missed := f.router.Subscribe("", 1)
	defer again.Close()
	if missed {
		t.Fatal("resume reported missed changes")
	}
	check("resumed", next(again), want{routing.ChangeCreated, "Kim", "v1", "1"})
	check("resumed", next(again), want{routing.ChangeUpdated, "Lee", "v2", "1"})
	for c = next(again); c.Type != routing.ChangeClosed; c = next(again) {
	}
	check("resumed", c, closed)
	// A second resume reads the same kept changes again.
	twice, _ := f.router.Subscribe("", 1)
	defer twice.Close()
	check("resumed twice", next(twice), want{routing.ChangeCreated, "Kim", "v1", "1"})
}
