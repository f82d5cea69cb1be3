package storetest

import (
	"context"
	"testing"

	"github.com/confab/confab/internal/store"
)

func testPIIRules(t *testing.T, s store.Store) {
	ctx := context.Background()
	rules, err := s.ListPIIRules(ctx)
	must(t, "list empty", err)
	if len(rules) != 0 {
		t.Fatalf("a new store has rules: %+v", rules)
	}
	add := func(r store.PIIRule) { t.Helper(); must(t, "add "+r.ID, s.AddPIIRule(ctx, r)) }
	add(store.PIIRule{ID: "b", Name: "B", Pattern: `\d{4}`, UpdatedAt: at(1)})
	add(store.PIIRule{ID: "a", Name: "A", Description: "first added second", Pattern: `x`, Spec: "all", MinDigitRun: 3, UpdatedAt: at(2)})
	add(store.PIIRule{ID: "z", Name: "Z", Pattern: `z`, Position: 1, UpdatedAt: at(3)}) // explicit: ties with b, id orders
	wantErr(t, "duplicate id", s.AddPIIRule(ctx, store.PIIRule{ID: "a", Name: "A2", Pattern: "y"}), store.ErrExists)
	for _, bad := range []store.PIIRule{{Name: "n", Pattern: "p"}, {ID: "i", Pattern: "p"}, {ID: "i", Name: "n"}} {
		wantErr(t, "invalid rule", s.AddPIIRule(ctx, bad), store.ErrInvalid)
	}
	rules, err = s.ListPIIRules(ctx)
	must(t, "list", err)
	var ids []string
	for _, r := range rules {
		ids = append(ids, r.ID)
	}
	if len(ids) != 3 || ids[0] != "b" || ids[1] != "z" || ids[2] != "a" {
		t.Fatalf("order %v, want [b z a]", ids)
	}
	a := rules[2]
	if a.Name != "A" || a.Description != "first added second" || a.Pattern != "x" || a.Spec != "all" ||
		a.MinDigitRun != 3 || a.Position != 2 || !a.UpdatedAt.Equal(at(2)) {
		t.Fatalf("rule a read back as %+v", a)
	}
	must(t, "remove", s.RemovePIIRule(ctx, "z"))
	wantErr(t, "remove again", s.RemovePIIRule(ctx, "z"), store.ErrNotFound)
	rules, err = s.ListPIIRules(ctx)
	must(t, "list after remove", err)
	if len(rules) != 2 {
		t.Fatalf("after remove: %+v", rules)
	}
}
