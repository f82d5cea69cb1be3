package storetest

import (
	"context"
	"testing"

	"github.com/confab/confab/internal/store"
)

func testStandardResponses(t *testing.T, s store.Store) {
	ctx := context.Background()
	list, err := s.ListStandardResponses(ctx)
	must(t, "list empty", err)
	if len(list) != 0 {
		t.Fatalf("a new store has standard responses: %+v", list)
	}
	add := func(r store.StandardResponse) { t.Helper(); must(t, "add "+r.ID, s.AddStandardResponse(ctx, r)) }
	rich := raw(`{"structured-content":{"genesys-chat":{"content":"{\"type\":\"Message\"}","type":"Generic"}}}`)
	add(store.StandardResponse{ID: "r1", Name: "Welcome", Category: "greetings", Shortcut: "hi", Text: "Hello, how can I help?", CreatedAt: at(1)})
	add(store.StandardResponse{ID: "r2", Name: "Colours", Category: "sales", Text: "Black, Green or Mint?", Attributes: rich, CreatedAt: at(2), UpdatedAt: at(3)})
	add(store.StandardResponse{ID: "r3", Name: "Bye", Category: "greetings", Text: "Goodbye", CreatedAt: at(4)})
	wantErr(t, "duplicate id", s.AddStandardResponse(ctx, store.StandardResponse{ID: "r1", Name: "x", Text: "y"}), store.ErrExists)
	for _, bad := range []store.StandardResponse{
		{Name: "n", Text: "t"}, {ID: "i", Text: "t"}, {ID: "i", Name: "n"}, {ID: "i", Name: " ", Text: "t"},
		{ID: "i", Name: "n", Text: "t", Attributes: raw(`[1]`)}, {ID: "i", Name: "n", Text: "t", Attributes: raw(`{`)},
	} {
		wantErr(t, "invalid response", s.AddStandardResponse(ctx, bad), store.ErrInvalid)
	}

	list, err = s.ListStandardResponses(ctx)
	must(t, "list", err)
	var ids []string
	for _, r := range list {
		ids = append(ids, r.ID)
	}
	if len(ids) != 3 || ids[0] != "r3" || ids[1] != "r1" || ids[2] != "r2" { // greetings/Bye, greetings/Welcome, sales
		t.Fatalf("order %v, want [r3 r1 r2]", ids)
	}
	r2 := list[2]
	if r2.Name != "Colours" || r2.Category != "sales" || r2.Text != "Black, Green or Mint?" || !sameJSON(r2.Attributes, rich) ||
		!r2.CreatedAt.Equal(at(2)) || !r2.UpdatedAt.Equal(at(3)) {
		t.Fatalf("r2 read back as %+v", r2)
	}
	r1, err := s.GetStandardResponse(ctx, "r1")
	must(t, "get r1", err)
	if r1.Shortcut != "hi" || len(r1.Attributes) != 0 || !r1.UpdatedAt.Equal(at(1)) {
		t.Fatalf("r1 read back as %+v (a zero UpdatedAt is CreatedAt)", r1)
	}
	_, err = s.GetStandardResponse(ctx, "nope")
	wantErr(t, "get unknown", err, store.ErrNotFound)

	// Update replaces everything but the id and creation time.
	must(t, "update", s.UpdateStandardResponse(ctx, store.StandardResponse{ID: "r1", Name: "Welcome back", Category: "greetings",
		Text: "Hello again", Attributes: rich, CreatedAt: at(99), UpdatedAt: at(10)}))
	r1, err = s.GetStandardResponse(ctx, "r1")
	must(t, "get updated", err)
	if r1.Name != "Welcome back" || r1.Shortcut != "" || r1.Text != "Hello again" || !sameJSON(r1.Attributes, rich) ||
		!r1.CreatedAt.Equal(at(1)) || !r1.UpdatedAt.Equal(at(10)) {
		t.Fatalf("r1 after update: %+v", r1)
	}
	wantErr(t, "update unknown", s.UpdateStandardResponse(ctx, store.StandardResponse{ID: "nope", Name: "n", Text: "t"}), store.ErrNotFound)
	wantErr(t, "update invalid", s.UpdateStandardResponse(ctx, store.StandardResponse{ID: "r1", Name: "n"}), store.ErrInvalid)

	must(t, "remove", s.RemoveStandardResponse(ctx, "r3"))
	wantErr(t, "remove again", s.RemoveStandardResponse(ctx, "r3"), store.ErrNotFound)
	list, err = s.ListStandardResponses(ctx)
	must(t, "list after remove", err)
	if len(list) != 2 || list[0].ID != "r1" {
		t.Fatalf("after remove: %+v", list)
	}
}
