package routing

import (
	"fmt"
	"strings"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/clock"
)

// QueuePrefix marks a transfer or invitation target that is a queue.
const QueuePrefix = "queue:"

// askKey names one open transfer or invitation: one per interaction and
// sending agent.
type askKey struct{ id, from string }

// ask is an open transfer or invitation.
type ask struct {
	kind     OfferKind // OfferTransfer or OfferInvite
	id       string
	queue    string // the interaction's queue
	from     *agentRec
	vis      chat.Visibility
	e        *entry // while waiting in a target queue
	target   string // the target queue, or ""
	offer    *offer
	deadline clock.Timer // a queue target with nobody available in time
}

func (t *ask) stopDeadline() {
	if t.deadline != nil {
		t.deadline.Stop()
		t.deadline = nil
	}
}

// Transfer hands an interaction from the agent desk k is in to another
// agent (to is an agent id) or to an agent of a queue (to is
// "queue:<name>"). The target gets an offer; when it accepts it joins and
// this agent's party leaves the session (reason 0); when it rejects or
// lets the offer expire, the interaction stays and the desk is told.
// While the offer is open the interaction's state is transferred.
func (k *Desk) Transfer(id, to string) error {
	return k.r.openAsk(k.rec, id, to, OfferTransfer, chat.VisAll)
}

// Invite asks another agent (or an agent of a queue) to join the
// interaction: visibility ALL is a conference, INT a consultation the
// customer does not see.
func (k *Desk) Invite(id, to string, vis chat.Visibility) error {
	if vis != chat.VisAll && vis != chat.VisInt {
		return fmt.Errorf("invite to %s: visibility %s: %w", id, vis, chat.ErrVisibility)
	}
	return k.r.openAsk(k.rec, id, to, OfferInvite, vis)
}

func (r *Router) openAsk(from *agentRec, id, to string, kind OfferKind, vis chat.Visibility) error {
	op := string(kind)
	d := &r.d
	d.mu.Lock()
	defer r.unlock()
	if from.state == StateLoggedOut {
		return fmt.Errorf("%s %s: %w", op, id, ErrClosedDesk)
	}
	var (
		present, async bool
		queue          string
	)
	err := r.read(id, func(x *ixn) {
		queue, async = x.view.Queue, x.view.Async
		for _, p := range x.present {
			if p.PersonID == from.acc.ID {
				present = true
			}
		}
		if x.closed {
			present = false
		}
	})
	if err != nil {
		return fmt.Errorf("%s %s: %w", op, id, err)
	}
	if !present {
		return fmt.Errorf("%s %s: %w", op, id, ErrNotPresent)
	}
	key := askKey{id, from.acc.ID}
	if d.asks[key] != nil {
		return fmt.Errorf("%s %s: %w", op, id, ErrBusy)
	}
	t := &ask{kind: kind, id: id, queue: queue, from: from, vis: vis}
	if name, ok := strings.CutPrefix(to, QueuePrefix); ok {
		t.target = name
	} else {
		a := d.agents[to]
		if a == nil || a == from || !a.available() || a.assigned[id] || a.offers[id] != nil {
			why := "not logged in"
			switch {
			case a == nil:
			case a == from:
				why = "the sender itself"
			case a.state != StateReady:
				why = string(a.state)
			case a.assigned[id] || a.offers[id] != nil:
				why = "already in the chat or offered it"
			default:
				why = fmt.Sprintf("no free capacity (%d of %d)", a.load(), a.acc.Capacity)
			}
			return fmt.Errorf("%s %s to %s (%s): %w", op, id, to, why, ErrUnavailable)
		}
		d.asks[key] = t
		r.askOpenedLocked(t, async)
		r.offerLocked(&entry{ask: t, idx: -1}, a, kind)
		return nil
	}
	d.asks[key] = t
	r.askOpenedLocked(t, async)
	t.e = &entry{seq: r.seqNow(), idx: -1, ask: t}
	q := r.queueLocked(t.target)
	q.waiting.push(t.e)
	d.pending[q] = true
	t.deadline = r.clock.AfterFunc(r.offerTimeout(), func() {
		d.mu.Lock()
		defer r.unlock()
		if d.asks[key] == t && t.offer == nil {
			r.failAskLocked(t, ResultNoAgent, "")
		}
	})
	return nil
}

func (r *Router) askOpenedLocked(t *ask, async bool) {
	d := &r.d
	if t.kind == OfferTransfer {
		d.counts.Transfers++
		r.update(t.id, "transfer", func(x *ixn) error {
			x.transferring++
			if async && t.target != "" {
				x.view.AsyncStatus = AsyncTransferredToQueue
			}
			return nil
		})
	} else {
		d.counts.Invites++
	}
}

// failAskLocked ends an open transfer or invitation that did not succeed
// (or, with result accepted, that did) and tells its sender.
func (r *Router) failAskLocked(t *ask, result, by string) {
	d := &r.d
	key := askKey{t.id, t.from.acc.ID}
	if d.asks[key] != t {
		return
	}
	delete(d.asks, key)
	t.stopDeadline()
	if t.e != nil && t.e.idx >= 0 {
		d.queues[t.target].waiting.remove(t.e.idx)
	}
	if t.offer != nil {
		o := t.offer
		t.offer = nil
		delete(o.agent.offers, o.id)
		o.stopTimer()
		if result != ResultAccepted {
			o.agent.sink(Notice{Type: NoticeRevoked, InteractionID: o.id, Result: result})
		}
		r.availLocked(o.agent)
	}
	if t.kind == OfferTransfer {
		r.update(t.id, "transfer", func(x *ixn) error {
			if x.transferring > 0 {
				x.transferring--
			}
			return nil
		})
	}
	typ := NoticeInvite
	if t.kind == OfferTransfer {
		typ = NoticeTransfer
	}
	t.from.sink(Notice{Type: typ, InteractionID: t.id, Result: result, By: by})
}
