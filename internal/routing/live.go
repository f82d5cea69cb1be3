package routing

// Live returns the interactions of a queue ("" for every queue) that are
// in memory and not closed, whatever their state (queued, assigned,
// transferred, held), ordered by creation time, then id: what a
// supervisor's console may monitor.
func (r *Router) Live(queue string) []Interaction {
	return r.live(func(x *ixn) bool {
		return !x.closed && (queue == "" || x.view.Queue == queue)
	})
}
