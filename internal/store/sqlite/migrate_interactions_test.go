package sqlite

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/confab/confab/internal/store"
)

// TestMigrateInteractionsToAppend writes records the way schema version 8
// stored them (an open one, closed ones with their final transcripts and
// statistics, one with a contact), runs migration 9 and checks that every
// record reads back as it was, that the lists by status, state, queue and
// contact still find them in order, and that the migrated records take
// updates, routing updates and closes, the new records after them.
func TestMigrateInteractionsToAppend(t *testing.T) {
	dir := t.TempDir()
	db, upTo, mustExec := migratedBefore(t, dir, "?_pragma=foreign_keys(1)", "_interactions_append")
	if upTo != 8 {
		t.Fatalf("the interactions_append migration is at index %d, want 8", upTo)
	}
	mustExec("INSERT INTO contacts (id, created_at) VALUES ('c1', 1)")
	base := time.Unix(1_700_000_000, 0).UTC()
	type row struct {
		id, queue, status, state, contact string
		version                           int64
		created                           time.Time
		closed                            *time.Time
		transcript, stats                 []byte
	}
	closedAt := base.Add(time.Hour)
	rows := []row{ // inserted out of creation order, as random keys were
		{id: "zz-open", queue: "q1", status: "open", state: "assigned", version: 3, created: base.Add(3 * time.Second)},
		{id: "aa-closed", queue: "q1", status: "closed", state: "offline", version: 5, created: base.Add(1 * time.Second),
			closed: &closedAt, transcript: []byte(`{"events":[1,2,3]}`), stats: []byte(`{"csg_x":"1"}`)},
		{id: "mm-contact", queue: "q2", status: "closed", state: "stopped", contact: "c1", version: 2, created: base.Add(2 * time.Second),
			closed: &closedAt, transcript: []byte(`{"events":[]}`)},
		{id: "bb-queued", queue: "q2", status: "open", state: "queued", version: 1, created: base},
	}
	for _, r := range rows {
		var contact, closed any
		if r.contact != "" {
			contact = r.contact
		}
		if r.closed != nil {
			closed = micros(*r.closed)
		}
		mustExec(`INSERT INTO interactions (id, session_id, tenant, endpoint, queue, contact_id, subject, user_data,
			status, state, owner, version, created_at, closed_at, transcript, stats)
			VALUES (?, ?, 't', 'e', ?, ?, 'subj', ?, ?, ?, '', ?, ?, ?, ?, ?)`,
			r.id, r.id, r.queue, contact, []byte(`{"k":"`+r.id+`"}`), r.status, r.state, r.version, micros(r.created), closed, r.transcript, r.stats)
	}
	db.Close()

	ctx := context.Background()
	s, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatalf("open the database of version %d: %v", upTo, err)
	}
	defer s.Close(ctx)
	if n := countRows(t, s, "SELECT count(*) FROM pragma_table_info('interactions') WHERE name = 'rid' AND pk = 1"); n != 1 {
		t.Fatal("interactions is not keyed by rid")
	}
	if n := countRows(t, s, "SELECT count(*) FROM pragma_table_info('interactions') WHERE name IN ('transcript', 'stats')"); n != 0 {
		t.Fatal("the record still carries its transcript")
	}
	if n := countRows(t, s, "SELECT count(*) FROM interaction_finals"); n != 2 {
		t.Fatalf("%d finals, want 2", n)
	}
	for _, r := range rows {
		in, err := s.GetInteraction(ctx, r.id)
		if err != nil {
			t.Fatal(err)
		}
		if in.Queue != r.queue || string(in.Status) != r.status || in.State != r.state || in.ContactID != r.contact ||
			in.Version != r.version || !in.CreatedAt.Equal(r.created) || string(in.UserData) != `{"k":"`+r.id+`"}` ||
			string(in.Transcript) != string(r.transcript) || string(in.Stats) != string(r.stats) ||
			(r.closed == nil) != in.ClosedAt.IsZero() {
			t.Fatalf("migrated %s: %+v", r.id, in)
		}
	}
	list := func(f store.InteractionFilter) string {
		t.Helper()
		got, err := s.ListInteractions(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, in := range got {
			ids = append(ids, in.ID)
		}
		return strings.Join(ids, " ")
	}
	for _, c := range []struct {
		f    store.InteractionFilter
		want string
	}{
		{store.InteractionFilter{}, "bb-queued aa-closed mm-contact zz-open"},
		{store.InteractionFilter{Newest: true}, "zz-open mm-contact aa-closed bb-queued"},
		{store.InteractionFilter{Status: store.StatusOpen}, "bb-queued zz-open"},
		{store.InteractionFilter{Status: store.StatusClosed}, "aa-closed mm-contact"},
		{store.InteractionFilter{State: "offline"}, "aa-closed"},
		{store.InteractionFilter{State: "queued"}, "bb-queued"},
		{store.InteractionFilter{Queue: "q2"}, "bb-queued mm-contact"},
		{store.InteractionFilter{ContactID: "c1"}, "mm-contact"},
		{store.InteractionFilter{AfterID: "aa-closed", Limit: 1}, "mm-contact"},
	} {
		if got := list(c.f); got != c.want {
			t.Errorf("list %+v: %q, want %q", c.f, got, c.want)
		}
	}
	// The migrated records take writes; a new one goes after them.
	if err := s.UpdateRouting(ctx, store.RoutingUpdate{ID: "zz-open", State: "assigned", UserData: json.RawMessage(`{"k":2}`)}).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.CloseInteraction(ctx, "zz-open", closedAt, store.Bytes(json.RawMessage(`{"final":1}`)), json.RawMessage(`{}`), nil); err != nil {
		t.Fatal(err)
	}
	in, err := s.GetInteraction(ctx, "aa-closed")
	if err != nil {
		t.Fatal(err)
	}
	in.Transcript = json.RawMessage(`{"events":[1]}`)
	if _, err := s.UpdateInteraction(ctx, in); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateInteraction(ctx, store.Interaction{ID: "00-new", SessionID: "00-new", Queue: "q1", CreatedAt: base.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]string{"zz-open": `{"final":1}`, "aa-closed": `{"events":[1]}`} {
		in, err := s.GetInteraction(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if string(in.Transcript) != want || in.Status != store.StatusClosed {
			t.Fatalf("%s after the writes: %s %s", id, in.Status, in.Transcript)
		}
	}
	if got, want := list(store.InteractionFilter{Status: store.StatusClosed}), "aa-closed mm-contact zz-open"; got != want {
		t.Fatalf("closed after the writes: %q, want %q", got, want)
	}
	if n := countRows(t, s, "SELECT count(*) FROM interaction_finals"); n != 3 {
		t.Fatalf("%d finals after one close and one update, want 3", n)
	}
	if n := countRows(t, s, "SELECT max(rid) = (SELECT rid FROM interactions WHERE id = '00-new') FROM interactions"); n != 1 {
		t.Fatal("the new record is not the last")
	}
}
