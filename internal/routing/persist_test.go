package routing_test

import (
	"context"
	"testing"
	"time"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/kv"
	"github.com/confab/confab/internal/routing"
)

// TestRecordWritesWithoutReads changes a live interaction several times:
// once routing knows the contact (told by the history, or from one read of
// the record), its writes go to the store's UpdateRouting without reading
// the record, and the record ends with the last state and the contact.
func TestRecordWritesWithoutReads(t *testing.T) {
	for _, told := range []bool{true, false} {
		st := newMemStore()
		f := newFixture(t, st, chat.Settings{})
		s, _ := f.customer(t, "q", false, kv.Map{"contact": "C-9"})
		if told {
			f.router.LearnContact(s.ID(), "C-9") // what the history's OnContact does
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		for range 3 {
			a := agentJoin(t, s, chat.Agent, false)
			if err := f.router.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			s.Leave(chat.LeaveRequest{UserID: a.UserID})
			if err := f.router.Flush(ctx); err != nil {
				t.Fatal(err)
			}
		}
		agentJoin(t, s, chat.Agent, false)
		if err := f.router.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		cancel()
		// Only the first writes read the record, to learn the contact (also
		// when told: the first save may run before the telling): one that
		// may find no record yet (history creates it) and one that finds it.
		if n := st.readsOf(s.ID()); n > 2 {
			t.Errorf("told=%v: %d reads of the record for 7 changes, want at most 2", told, n)
		}
		rec, ud := st.get(t, s.ID())
		if rec.State != string(routing.Assigned) || ud.String(routing.KeyContactID) != "C-9" || rec.Version < 3 {
			t.Errorf("told=%v: stored state %s, data %v, version %d", told, rec.State, ud, rec.Version)
		}
	}
}
