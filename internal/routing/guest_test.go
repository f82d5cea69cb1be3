package routing_test

import (
	"errors"
	"sync"
	"testing"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/routing"
	"github.com/confab/confab/internal/store"
)

// An agent whose desk is on another node (it reached this node's chat
// through a forwarded socket) transfers, invites and holds it through a
// guest desk: the target is offered it, the result goes to the guest's
// sink, and the guest is never offered anything itself nor counted in a
// queue.
func TestGuestDesk(t *testing.T) {
	g := newRig(t)
	bob := g.login("bob", store.UserAgent, 1, "q")
	s, _ := g.chat("q", false, nil)
	// amy accepts by id, with no desk here (the forwarded socket's accept).
	join := chat.JoinRequest{Nick: "amy", Type: chat.Agent, Protocol: chat.Basic, PersonID: "amy"}
	if _, err := g.router.Accept(s.ID(), "amy", join); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var told []routing.Notice
	amy := g.router.Guest(routing.Account{ID: "amy", Name: "amy", Type: store.UserAgent, Queues: []string{"q"}}, func(n routing.Notice) {
		mu.Lock()
		told = append(told, n)
		mu.Unlock()
	})
	if err := amy.Transfer(s.ID(), "bob"); !errors.Is(err, routing.ErrUnavailable) {
		t.Fatalf("transfer to a not-ready agent: %v", err)
	}
	g.ready(bob)
	if err := amy.Transfer(s.ID(), "bob"); err != nil {
		t.Fatalf("transfer through a guest desk: %v", err)
	}
	offers := bob.take(routing.NoticeOffer)
	if len(offers) != 1 || offers[0].Offer.Kind != routing.OfferTransfer || offers[0].Offer.From != "amy" {
		t.Fatalf("bob's offers %+v", offers)
	}
	if err := bob.Reject(s.ID()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if len(told) != 1 || told[0].Type != routing.NoticeTransfer || told[0].Result != routing.ResultRejected {
		t.Fatalf("the guest was told %+v", told)
	}
	told = nil
	mu.Unlock()

	// A guest's open invitation is cancelled when it logs out; a second
	// chat queued in q is never offered to it.
	g.ready(bob)
	if err := amy.Invite(s.ID(), "bob", chat.VisInt); err != nil {
		t.Fatal(err)
	}
	if offers := bob.take(routing.NoticeOffer); len(offers) != 1 || offers[0].Offer.Kind != routing.OfferInvite {
		t.Fatalf("bob's invitations %+v", offers)
	}
	amy.Logout()
	mu.Lock()
	if len(told) != 1 || told[0].Result != routing.ResultCancelled {
		t.Fatalf("the guest was told at logout %+v", told)
	}
	mu.Unlock()
	if err := amy.Transfer(s.ID(), "bob"); !errors.Is(err, routing.ErrClosedDesk) {
		t.Fatalf("transfer after the guest's logout: %v", err)
	}
	if st := g.router.Agents(); len(st) != 1 || st[0].ID != "bob" {
		t.Fatalf("logged-in agents %+v, want only bob (a guest is not one)", st)
	}
}
