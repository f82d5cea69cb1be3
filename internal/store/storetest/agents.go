package storetest

import (
	"context"
	"fmt"
	"testing"

	"github.com/confab/confab/internal/store"
)

// testAgentRouting checks the routing attributes of agent accounts: the
// BOT type, queues, capacity and its default, and UpdateAgent.
func testAgentRouting(t *testing.T, s store.Store) {
	ctx := context.Background()
	must(t, "AddAgent bot", s.AddAgent(ctx, store.Agent{ID: "bot", Name: "Bot", TokenHash: []byte{1}, Type: store.UserBot,
		Queues: []string{"triage", " sales ", "", "triage"}, Capacity: 20}))
	must(t, "AddAgent plain", s.AddAgent(ctx, store.Agent{ID: "amy", TokenHash: []byte{2}, Type: store.UserAgent}))
	wantErr(t, "AddAgent capacity 0..100", s.AddAgent(ctx, store.Agent{ID: "x", TokenHash: []byte{3}, Type: store.UserAgent, Capacity: 101}), store.ErrInvalid)
	wantErr(t, "AddAgent negative capacity", s.AddAgent(ctx, store.Agent{ID: "x", TokenHash: []byte{3}, Type: store.UserAgent, Capacity: -1}), store.ErrInvalid)
	wantErr(t, "AddAgent comma in queue", s.AddAgent(ctx, store.Agent{ID: "x", TokenHash: []byte{3}, Type: store.UserAgent, Queues: []string{"a,b"}}), store.ErrInvalid)

	bot, err := s.GetAgent(ctx, "bot")
	must(t, "GetAgent bot", err)
	if bot.Type != store.UserBot || fmt.Sprint(bot.Queues) != "[triage sales]" || bot.Capacity != 20 {
		t.Fatalf("GetAgent bot = %+v", bot)
	}
	amy, err := s.GetAgent(ctx, "amy")
	must(t, "GetAgent amy", err)
	if amy.Capacity != store.DefaultCapacity || len(amy.Queues) != 0 {
		t.Fatalf("GetAgent amy: defaults not applied: %+v", amy)
	}

	// Update everything but the token.
	must(t, "UpdateAgent", s.UpdateAgent(ctx, store.Agent{ID: "amy", Name: "Amy", Type: store.UserSupervisor, Queues: []string{"sales", "vip"}, Capacity: 3}))
	amy2, err := s.GetAgentByTokenHash(ctx, []byte{2})
	must(t, "GetAgentByTokenHash after update", err)
	if amy2.ID != "amy" || amy2.Name != "Amy" || amy2.Type != store.UserSupervisor || fmt.Sprint(amy2.Queues) != "[sales vip]" ||
		amy2.Capacity != 3 || !amy2.CreatedAt.Equal(amy.CreatedAt) {
		t.Fatalf("after UpdateAgent: %+v (before %+v)", amy2, amy)
	}
	// A new token replaces the old one.
	must(t, "UpdateAgent token", s.UpdateAgent(ctx, store.Agent{ID: "amy", Name: "Amy", Type: store.UserAgent, TokenHash: []byte{9}}))
	_, err = s.GetAgentByTokenHash(ctx, []byte{2})
	wantErr(t, "old token after rotation", err, store.ErrNotFound)
	amy3, err := s.GetAgentByTokenHash(ctx, []byte{9})
	must(t, "new token", err)
	if amy3.Capacity != store.DefaultCapacity || len(amy3.Queues) != 0 {
		t.Fatalf("UpdateAgent replaces queues and capacity: %+v", amy3)
	}
	wantErr(t, "UpdateAgent unknown", s.UpdateAgent(ctx, store.Agent{ID: "nobody", Type: store.UserAgent}), store.ErrNotFound)
	wantErr(t, "UpdateAgent bad type", s.UpdateAgent(ctx, store.Agent{ID: "amy", Type: "CLIENT"}), store.ErrInvalid)
	wantErr(t, "UpdateAgent bad capacity", s.UpdateAgent(ctx, store.Agent{ID: "amy", Type: store.UserAgent, Capacity: 1000}), store.ErrInvalid)
	wantErr(t, "UpdateAgent taken token", s.UpdateAgent(ctx, store.Agent{ID: "amy", Type: store.UserAgent, TokenHash: []byte{1}}), store.ErrExists)
	got, err := s.GetAgent(ctx, "amy")
	must(t, "GetAgent after refused updates", err)
	if got.Type != store.UserAgent || string(got.TokenHash) != string([]byte{9}) {
		t.Fatalf("a refused update changed the agent: %+v", got)
	}
}

// testListByContact checks InteractionFilter.ContactID.
func testListByContact(t *testing.T, s store.Store) {
	ctx := context.Background()
	c1, _, err := s.IdentifyContact(ctx, map[string]string{store.AttrEmailAddress: "a@example.com"}, []string{store.AttrEmailAddress}, true)
	must(t, "IdentifyContact", err)
	c2, _, err := s.IdentifyContact(ctx, map[string]string{store.AttrEmailAddress: "b@example.com"}, []string{store.AttrEmailAddress}, true)
	must(t, "IdentifyContact", err)
	for i, c := range []string{c1, c2, c1, "", c1} {
		must(t, "CreateInteraction", s.CreateInteraction(ctx, store.Interaction{ID: fmt.Sprintf("k%d", i), ContactID: c, CreatedAt: at(i)}))
	}
	must(t, "CloseInteraction", s.CloseInteraction(ctx, "k2", at(9), store.Bytes([]byte(`{"t":2}`)), nil, nil))
	ids := func(f store.InteractionFilter) string {
		list, err := s.ListInteractions(ctx, f)
		must(t, "ListInteractions", err)
		var out []string
		for _, in := range list {
			out = append(out, in.ID)
		}
		return fmt.Sprint(out)
	}
	for _, tc := range []struct {
		f    store.InteractionFilter
		want string
	}{
		{store.InteractionFilter{ContactID: c1}, "[k0 k2 k4]"},
		{store.InteractionFilter{ContactID: c2}, "[k1]"},
		{store.InteractionFilter{ContactID: c1, Status: store.StatusClosed}, "[k2]"},
		{store.InteractionFilter{ContactID: c1, AfterID: "k0", Limit: 1}, "[k2]"},
		{store.InteractionFilter{ContactID: "none"}, "[]"},
	} {
		if got := ids(tc.f); got != tc.want {
			t.Errorf("ListInteractions(%+v) = %s, want %s", tc.f, got, tc.want)
		}
	}
}
