package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/confab/confab/internal/store"
)

func equalInteraction(a, b store.Interaction) bool {
	return a.ID == b.ID && a.SessionID == b.SessionID && a.Tenant == b.Tenant && a.Endpoint == b.Endpoint &&
		a.Queue == b.Queue && a.ContactID == b.ContactID && a.Subject == b.Subject &&
		sameJSON(a.UserData, b.UserData) && a.Status == b.Status && a.State == b.State && a.Owner == b.Owner &&
		a.Version == b.Version && a.CreatedAt.Equal(b.CreatedAt) && a.ClosedAt.Equal(b.ClosedAt) &&
		sameJSON(a.Transcript, b.Transcript) && sameJSON(a.Stats, b.Stats)
}

func checkInteraction(t *testing.T, s store.Store, want store.Interaction) {
	t.Helper()
	got, err := s.GetInteraction(context.Background(), want.ID)
	must(t, "GetInteraction "+want.ID, err)
	if !equalInteraction(got, want) {
		t.Fatalf("GetInteraction %s:\n got %+v\nwant %+v", want.ID, got, want)
	}
}

func testInteractions(t *testing.T, s store.Store) {
	ctx := context.Background()
	contact, _, err := s.IdentifyContact(ctx, map[string]string{store.AttrEmailAddress: "f@example.com"}, defaultKeys(), true)
	must(t, "IdentifyContact", err)

	in := store.Interaction{
		ID: "chat-1", SessionID: "chat-1", Tenant: "Environment", Endpoint: "default", Queue: "chat-in",
		ContactID: contact, Subject: "Billing", UserData: raw(`{"FirstName": "F", "n": [1, 2]}`),
		State: "queued", Owner: "node-a", CreatedAt: at(0),
	}
	must(t, "CreateInteraction", s.CreateInteraction(ctx, in))
	in.Status, in.Version = store.StatusOpen, 1
	checkInteraction(t, s, in)

	wantErr(t, "CreateInteraction duplicate", s.CreateInteraction(ctx, in), store.ErrExists)
	wantErr(t, "CreateInteraction empty id", s.CreateInteraction(ctx, store.Interaction{}), store.ErrInvalid)
	wantErr(t, "CreateInteraction bad status", s.CreateInteraction(ctx, store.Interaction{ID: "x", Status: "pending"}), store.ErrInvalid)
	wantErr(t, "CreateInteraction unknown contact",
		s.CreateInteraction(ctx, store.Interaction{ID: "chat-2", ContactID: "no-such-contact"}), store.ErrInvalid)
	_, err = s.GetInteraction(ctx, "chat-2")
	wantErr(t, "GetInteraction after failed create", err, store.ErrNotFound)

	// An anonymous interaction with defaults.
	before := time.Now().Add(-time.Second)
	must(t, "CreateInteraction anonymous", s.CreateInteraction(ctx, store.Interaction{ID: "chat-3", SessionID: "chat-3"}))
	anon, err := s.GetInteraction(ctx, "chat-3")
	must(t, "GetInteraction chat-3", err)
	if anon.ContactID != "" || anon.Status != store.StatusOpen || anon.Version != 1 || anon.CreatedAt.Before(before) ||
		anon.UserData != nil || anon.Transcript != nil || !anon.ClosedAt.IsZero() {
		t.Fatalf("anonymous interaction: got %+v", anon)
	}

	// Update with the current version.
	in.State, in.Owner, in.Queue, in.UserData = "assigned", "node-b", "chat-vip", raw(`{"FirstName":"F","agent":"a1"}`)
	v, err := s.UpdateInteraction(ctx, in)
	must(t, "UpdateInteraction", err)
	if v != 2 {
		t.Fatalf("UpdateInteraction returned version %d, want 2", v)
	}
	in.Version = 2
	checkInteraction(t, s, in)

	// A stale version conflicts and changes nothing.
	stale := in
	stale.Version, stale.State = 1, "stopped"
	_, err = s.UpdateInteraction(ctx, stale)
	wantErr(t, "UpdateInteraction stale", err, store.ErrConflict)
	checkInteraction(t, s, in)

	// Updates do not change the creation time.
	moved := in
	moved.CreatedAt = at(99)
	v, err = s.UpdateInteraction(ctx, moved)
	must(t, "UpdateInteraction", err)
	in.Version = v
	checkInteraction(t, s, in)

	_, err = s.UpdateInteraction(ctx, store.Interaction{ID: "no-such-chat", Status: store.StatusOpen, Version: 1})
	wantErr(t, "UpdateInteraction unknown", err, store.ErrNotFound)
	_, err = s.GetInteraction(ctx, "no-such-chat")
	wantErr(t, "GetInteraction unknown", err, store.ErrNotFound)
}

func testCloseInteraction(t *testing.T, s store.Store) {
	ctx := context.Background()
	in := store.Interaction{ID: "chat-1", SessionID: "chat-1", UserData: raw(`{"a":"1"}`), CreatedAt: at(0)}
	must(t, "CreateInteraction", s.CreateInteraction(ctx, in))

	transcript := raw(`{"events":[{"pos":0,"text":"hello"}]}`)
	stats := raw(`{"messages":1}`)
	must(t, "CloseInteraction", s.CloseInteraction(ctx, "chat-1", at(60), store.Bytes(transcript), stats, nil))
	in.Status, in.Version, in.ClosedAt, in.Transcript, in.Stats = store.StatusClosed, 2, at(60), transcript, stats
	checkInteraction(t, s, in) // nil userData keeps the stored user data

	must(t, "CloseInteraction again", s.CloseInteraction(ctx, "chat-1", at(61), store.Bytes(transcript), stats, raw(`{"a":"2"}`)))
	in.Version, in.ClosedAt, in.UserData = 3, at(61), raw(`{"a":"2"}`)
	checkInteraction(t, s, in)

	wantErr(t, "CloseInteraction unknown", s.CloseInteraction(ctx, "no-such-chat", at(60), store.Bytes(transcript), stats, nil), store.ErrNotFound)
}

func testListInteractions(t *testing.T, s store.Store) {
	ctx := context.Background()
	// Created out of order; i1 and i2 share a creation time (ordered by id).
	all := []store.Interaction{
		{ID: "i3", Queue: "q1", State: "queued", CreatedAt: at(3), Transcript: raw(`{"t":3}`)},
		{ID: "i2", Queue: "q2", State: "assigned", CreatedAt: at(1)},
		{ID: "i1", Queue: "q1", State: "assigned", CreatedAt: at(1)},
		{ID: "i0", Queue: "q1", State: "queued", CreatedAt: at(0)},
		{ID: "i5", Queue: "q2", State: "queued", CreatedAt: at(5)},
		{ID: "i4", Queue: "q1", State: "stopped", CreatedAt: at(4), Status: store.StatusClosed},
	}
	for _, in := range all {
		must(t, "CreateInteraction "+in.ID, s.CreateInteraction(ctx, in))
	}
	ids := func(ins []store.Interaction) string {
		var s []string
		for _, in := range ins {
			s = append(s, in.ID)
		}
		return fmt.Sprint(s)
	}
	for _, tc := range []struct {
		f    store.InteractionFilter
		want string
	}{
		{store.InteractionFilter{}, "[i0 i1 i2 i3 i4 i5]"},
		{store.InteractionFilter{Queue: "q1"}, "[i0 i1 i3 i4]"},
		{store.InteractionFilter{Status: store.StatusOpen}, "[i0 i1 i2 i3 i5]"},
		{store.InteractionFilter{Status: store.StatusClosed}, "[i4]"},
		{store.InteractionFilter{State: "queued"}, "[i0 i3 i5]"},
		{store.InteractionFilter{Queue: "q1", State: "queued"}, "[i0 i3]"},
		{store.InteractionFilter{Queue: "q1", State: "queued", Status: store.StatusClosed}, "[]"},
		{store.InteractionFilter{Queue: "none"}, "[]"},
		{store.InteractionFilter{Limit: 2}, "[i0 i1]"},
		{store.InteractionFilter{AfterID: "i1"}, "[i2 i3 i4 i5]"},
		{store.InteractionFilter{AfterID: "i1", Limit: 2}, "[i2 i3]"},
		{store.InteractionFilter{AfterID: "i1", Queue: "q1"}, "[i3 i4]"},
		{store.InteractionFilter{AfterID: "i5"}, "[]"},
	} {
		got, err := s.ListInteractions(ctx, tc.f)
		must(t, fmt.Sprintf("ListInteractions(%+v)", tc.f), err)
		if ids(got) != tc.want {
			t.Errorf("ListInteractions(%+v) = %s, want %s", tc.f, ids(got), tc.want)
		}
	}

	// Paging with AfterID visits everything once, in order.
	var paged []store.Interaction
	f := store.InteractionFilter{Limit: 4}
	for {
		page, err := s.ListInteractions(ctx, f)
		must(t, "ListInteractions page", err)
		paged = append(paged, page...)
		if len(page) < f.Limit {
			break
		}
		f.AfterID = page[len(page)-1].ID
	}
	if ids(paged) != "[i0 i1 i2 i3 i4 i5]" {
		t.Fatalf("paged listing: %s", ids(paged))
	}

	// Transcripts only on request; the other fields always.
	got, err := s.ListInteractions(ctx, store.InteractionFilter{})
	must(t, "ListInteractions", err)
	i3 := got[slices.IndexFunc(got, func(in store.Interaction) bool { return in.ID == "i3" })]
	if i3.Transcript != nil || i3.Queue != "q1" || i3.State != "queued" || i3.Version != 1 || !i3.CreatedAt.Equal(at(3)) {
		t.Fatalf("listed i3: %+v", i3)
	}
	got, err = s.ListInteractions(ctx, store.InteractionFilter{Queue: "q1", State: "queued", WithTranscript: true})
	must(t, "ListInteractions WithTranscript", err)
	if len(got) != 2 || string(got[1].Transcript) != `{"t":3}` {
		t.Fatalf("listed with transcript: %+v", got)
	}

	_, err = s.ListInteractions(ctx, store.InteractionFilter{AfterID: "no-such-chat"})
	wantErr(t, "ListInteractions unknown AfterID", err, store.ErrNotFound)
}
