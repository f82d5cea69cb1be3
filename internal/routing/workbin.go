package routing

import (
	"fmt"
	"slices"
	"strings"
)

// Workbin owners: an agent's personal workbin or a queue's.
func agentBin(id string) string   { return "agent:" + id }
func queueBin(name string) string { return QueuePrefix + name }

// Hold places an async chat on hold for the agent of desk k: the
// interaction goes to the agent's personal workbin (workbin "") or to the
// workbin of a queue ("queue:<name>"), GCTI_Chat_AsyncStatus becomes -2,
// and the customer's next message wakes it (status 2) and offers it to
// this agent first. The caller then removes the agent's party from the
// session (KEEP_ALIVE); the session stays alive.
func (k *Desk) Hold(id, workbin string) (Interaction, error) {
	r := k.r
	owner := agentBin(k.rec.acc.ID)
	if workbin != "" {
		name, ok := strings.CutPrefix(workbin, QueuePrefix)
		if !ok || name == "" {
			return Interaction{}, fmt.Errorf("hold %s: workbin %q: %w", id, workbin, ErrBadWorkbin)
		}
		owner = queueBin(name)
	}
	d := &r.d
	d.mu.Lock()
	defer r.unlock()
	err := r.update(id, "hold", func(x *ixn) error {
		if !x.view.Async {
			return ErrNotAsync
		}
		present := false
		for _, p := range x.present {
			present = present || p.PersonID == k.rec.acc.ID
		}
		if !present {
			return ErrNotPresent
		}
		x.onHold = true
		x.view.AsyncStatus = AsyncOnHold
		x.heldBy = k.rec.acc.ID
		return nil
	})
	if err != nil {
		return Interaction{}, err
	}
	r.unbinLocked(id)
	if d.bins[owner] == nil {
		d.bins[owner] = map[string]bool{}
	}
	d.bins[owner][id] = true
	d.binOf[id] = owner
	d.counts.Holds++
	return r.Get(id)
}

// ErrBadWorkbin: a workbin must be "" (the agent's own) or "queue:<name>".
var ErrBadWorkbin = fmt.Errorf("routing: workbin must be empty or queue:<name>")

// Workbin lists the interactions held in the agent's personal workbin
// (workbin "") or in a queue's ("queue:<name>"), oldest first.
func (k *Desk) Workbin(workbin string) ([]Interaction, error) {
	owner := agentBin(k.rec.acc.ID)
	if workbin != "" {
		name, ok := strings.CutPrefix(workbin, QueuePrefix)
		if !ok || name == "" {
			return nil, fmt.Errorf("workbin %q: %w", workbin, ErrBadWorkbin)
		}
		owner = queueBin(name)
	}
	r := k.r
	d := &r.d
	d.mu.Lock()
	ids := make([]string, 0, len(d.bins[owner]))
	for id := range d.bins[owner] {
		ids = append(ids, id)
	}
	d.mu.Unlock()
	slices.Sort(ids)
	out := make([]Interaction, 0, len(ids))
	for _, id := range ids {
		if v, err := r.Get(id); err == nil {
			out = append(out, v)
		}
	}
	sortInteractions(out)
	return out, nil
}

// unbinLocked takes an interaction out of whatever workbin holds it.
func (r *Router) unbinLocked(id string) {
	d := &r.d
	owner, ok := d.binOf[id]
	if !ok {
		return
	}
	delete(d.binOf, id)
	delete(d.bins[owner], id)
	if len(d.bins[owner]) == 0 {
		delete(d.bins, owner)
	}
}
