package routing_test

import (
	"context"
	"sync"
	"testing"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/routing"
	"github.com/confab/confab/internal/store"
)

// TestLastAgentFromToldContact checks that with HistoryTells a new
// session's last-agent look-up waits for the contact the history tells
// (LearnContact) and looks up by it (LastAgentOf), never by reading the
// record (LastAgent); a session told it has no contact makes no look-up.
func TestLastAgentFromToldContact(t *testing.T) {
	var mu sync.Mutex // guards the following
	var asked []string
	lastOfContact := map[string]string{"C1": "bob"}
	g := newRig(t, func(o *routing.Options) {
		o.HistoryTells = true
		o.LastAgent = func(_ context.Context, id string) (string, error) {
			t.Errorf("LastAgent(%s) called: the look-up read the record instead of waiting to be told", id)
			return "", nil
		}
		o.LastAgentOf = func(_ context.Context, id, contact string) (string, error) {
			mu.Lock()
			defer mu.Unlock()
			asked = append(asked, contact)
			return lastOfContact[contact], nil
		}
	})
	amy, bob := g.login("amy", store.UserAgent, 1, "q"), g.login("bob", store.UserAgent, 1, "q")
	g.ready(amy, bob)
	create := func() string {
		id := chat.NewSessionID()
		if _, _, _, err := g.engine.Create(chat.CreateRequest{ID: id, Tenant: "1", Endpoint: "default", Queue: "q",
			Creator: chat.JoinRequest{Nick: "Kim", Type: chat.Client, Protocol: chat.Flex}}); err != nil {
			t.Fatal(err)
		}
		return id
	}
	s1 := create()
	g.router.LearnContact(s1, "C1") // the history created the record
	waitOffer(t, bob, s1)
	wantOffers(t, amy)
	s2 := create()
	g.router.LearnContact(s2, "") // no contact: nothing to look up
	waitOffer(t, amy, s2)
	mu.Lock()
	defer mu.Unlock()
	if len(asked) != 1 || asked[0] != "C1" {
		t.Errorf("LastAgentOf asked for %q, want only C1", asked)
	}
}
