package routing

// MayJoin reports whether agentID has a part in a live interaction that
// lets it join the session: an open offer (queued chat, transfer or
// invitation), an accept or an earlier presence in the session, or a hold
// of the async chat.
func (r *Router) MayJoin(id, agentID string) bool {
	d := &r.d
	d.mu.Lock()
	defer d.mu.Unlock()
	if a := d.agents[agentID]; a != nil && (a.offers[id] != nil || a.assigned[id]) {
		return true
	}
	ok := false
	r.read(id, func(x *ixn) {
		ok = !x.closed && (x.view.AgentID == agentID || x.heldBy == agentID || x.served.has(agentID))
	})
	return ok
}

// OpenOffer reports whether agentID has an open offer of id, and of
// which kind.
func (r *Router) OpenOffer(id, agentID string) (OfferKind, bool) {
	d := &r.d
	d.mu.Lock()
	defer d.mu.Unlock()
	if a := d.agents[agentID]; a != nil {
		if o := a.offers[id]; o != nil {
			return o.kind, true
		}
	}
	return "", false
}

// ContactID returns the contact the history identified for a live
// interaction ("" when not known yet or anonymous).
func (r *Router) ContactID(id string) (string, error) {
	var c string
	err := r.read(id, func(x *ixn) { c = x.contactID })
	return c, err
}
