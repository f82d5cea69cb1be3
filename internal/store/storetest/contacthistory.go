package storetest

import (
	"context"
	"fmt"
	"testing"

	"github.com/confab/confab/internal/store"
)

// testContactInteractions checks the contact filter and the newest-first
// order with AfterID paging, which the history API relies on.
func testContactInteractions(t *testing.T, s store.Store) {
	ctx := context.Background()
	ann, _, err := s.IdentifyContact(ctx, map[string]string{store.AttrEmailAddress: "ann@example.com"}, []string{store.AttrEmailAddress}, true)
	must(t, "IdentifyContact ann", err)
	bob, _, err := s.IdentifyContact(ctx, map[string]string{store.AttrEmailAddress: "bob@example.com"}, []string{store.AttrEmailAddress}, true)
	must(t, "IdentifyContact bob", err)
	for _, in := range []store.Interaction{
		{ID: "a1", ContactID: ann, CreatedAt: at(1)},
		{ID: "a3", ContactID: ann, CreatedAt: at(3)},
		{ID: "a2", ContactID: ann, CreatedAt: at(2)},
		{ID: "a2b", ContactID: ann, CreatedAt: at(2)},
		{ID: "b1", ContactID: bob, CreatedAt: at(2)},
		{ID: "x1", CreatedAt: at(4)},
	} {
		must(t, "CreateInteraction "+in.ID, s.CreateInteraction(ctx, in))
	}
	ids := func(ins []store.Interaction) string {
		var out []string
		for _, in := range ins {
			out = append(out, in.ID)
		}
		return fmt.Sprint(out)
	}
	for _, tc := range []struct {
		f    store.InteractionFilter
		want string
	}{
		{store.InteractionFilter{ContactID: ann}, "[a1 a2 a2b a3]"},
		{store.InteractionFilter{ContactID: ann, Newest: true}, "[a3 a2b a2 a1]"},
		{store.InteractionFilter{ContactID: ann, Newest: true, Limit: 2}, "[a3 a2b]"},
		{store.InteractionFilter{ContactID: ann, Newest: true, AfterID: "a2b"}, "[a2 a1]"},
		{store.InteractionFilter{ContactID: ann, Newest: true, AfterID: "a1"}, "[]"},
		{store.InteractionFilter{ContactID: bob, Newest: true}, "[b1]"},
		{store.InteractionFilter{ContactID: "nobody"}, "[]"},
		{store.InteractionFilter{Newest: true, Limit: 1}, "[x1]"},
	} {
		got, err := s.ListInteractions(ctx, tc.f)
		must(t, fmt.Sprintf("ListInteractions(%+v)", tc.f), err)
		if ids(got) != tc.want {
			t.Errorf("ListInteractions(%+v) = %s, want %s", tc.f, ids(got), tc.want)
		}
	}
}
