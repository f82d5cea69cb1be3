package routing

import "github.com/confab/confab/internal/store"

// Guest desks. In a cluster an agent's routing desk lives on the node its
// desktop is connected to; the sessions it handles on other nodes are
// reached through sockets that node opens on the agent's behalf. On the
// session's node such a socket has a guest desk: it takes no offers,
// counts in no queue and in no statistics, and only lets the agent
// transfer, invite and hold the interactions it is in there, the results
// of those going to the guest's sink (back over the relaying socket).

// Guest returns a guest desk for acc, whose notices go to sink. Logout
// cancels the transfers and invitations it opened.
func (r *Router) Guest(acc Account, sink Sink) *Desk {
	if acc.Capacity <= 0 {
		acc.Capacity = store.DefaultCapacity
	}
	a := &agentRec{acc: acc, sink: sink, state: StateReady, since: r.clock.Now(),
		assigned: map[string]bool{}, offers: map[string]*offer{}, expired: map[string]bool{}, pos: map[string]int{}}
	return &Desk{r: r, rec: a, guest: true}
}

// logoutGuest ends a guest desk: its open transfers and invitations fail
// (cancelled); nothing else of the router knows it.
func (k *Desk) logoutGuest() {
	r := k.r
	d := &r.d
	d.mu.Lock()
	defer r.unlock()
	a := k.rec
	if a.state == StateLoggedOut {
		return
	}
	a.state = StateLoggedOut
	for _, t := range d.asks {
		if t.from == a {
			r.failAskLocked(t, ResultCancelled, "")
		}
	}
}
