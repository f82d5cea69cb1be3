package agent

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	wire "github.com/confab/confab/client/agent"
	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/routing"
	"github.com/confab/confab/internal/store"
)

// History paging of op history.
const (
	historyDefault = 20
	historyMax     = 100
	storeTimeout   = 10 * time.Second
)

// applyRouting carries out the routing and supervision operations.
func (c *conn) applyRouting(req *request, a *pendingAck) error {
	switch req.Op {
	case wire.OpState:
		return c.setState(req, a)
	case wire.OpReject:
		return c.reject(req, a)
	case wire.OpTransfer, wire.OpInvite:
		return c.ask(req, a)
	case wire.OpMonitor, wire.OpCoach:
		return c.supervise(req, a)
	case wire.OpBargeIn:
		return c.bargeIn(req, a)
	case wire.OpHold:
		return c.hold(req, a)
	case wire.OpWorkbin:
		return c.workbin(req, a)
	case wire.OpHistory:
		return c.history(req, a)
	}
	return fail(wire.CodeUnknownOp, "op", "unknown op %q", req.Op)
}

// deskFor returns the socket's desk, or the error for a socket without one.
// A socket another node opened for its agent (forwarded) has a guest desk
// here (routing.Guest): the agent's own desk is on that node, and the
// guest lets it transfer, invite and hold this node's sessions.
func (c *conn) deskFor() (*routing.Desk, error) {
	d := c.routingDesk()
	if d == nil && c.forwarded {
		c.mu.Lock()
		if c.guest == nil {
			c.guest = c.h.opts.Router.Guest(routing.AccountOf(c.agent), c.sink)
		}
		d = c.guest
		c.mu.Unlock()
	}
	if d == nil {
		return nil, fail(wire.CodeLoggedIn, "", "account %s is logged in for routing on another connection", c.agent.ID)
	}
	return d, nil
}

func (c *conn) setState(req *request, a *pendingAck) error {
	st, ok := routing.ParseAgentState(req.State)
	if !ok {
		return fail(wire.CodeBadRequest, "state", "state must be ready, not-ready or after-call-work")
	}
	if req.Reason != "" && st != routing.StateNotReady {
		return fail(wire.CodeBadRequest, "reason", "a reason goes with state not-ready only")
	}
	if len(req.Reason) > 64 {
		return fail(wire.CodeBadRequest, "reason", "reason is longer than 64 bytes")
	}
	d, err := c.deskFor()
	if err != nil {
		return err
	}
	if err := d.SetState(st, req.Reason); err != nil {
		return err
	}
	a.frame = c.result(req)
	cur, reason := d.State()
	a.frame.AgentState, a.frame.Reason = string(cur), reason
	return nil
}

func (c *conn) reject(req *request, a *pendingAck) error {
	if req.InteractionID == "" {
		return fail(wire.CodeBadRequest, "interactionId", "interactionId is required")
	}
	d, err := c.deskFor()
	if err != nil {
		return err
	}
	if err := d.Reject(req.InteractionID); err != nil {
		return err
	}
	a.frame = c.result(req)
	a.frame.InteractionID = req.InteractionID
	return nil
}

// checkTarget checks the "to" of a transfer or invite: a known queue or an
// existing agent account.
func (c *conn) checkTarget(to string) error {
	if to == "" {
		return fail(wire.CodeBadRequest, "to", "to is required: an agent id or queue:<name>")
	}
	if name, ok := strings.CutPrefix(to, wire.QueuePrefix); ok {
		if name == "" || (c.h.opts.KnownQueue != nil && !c.h.opts.KnownQueue(name)) {
			return fail(wire.CodeBadRequest, "to", "unknown queue %q", name)
		}
		return nil
	}
	if to == c.agent.ID {
		return fail(wire.CodeBadRequest, "to", "an agent cannot %s to itself", "hand a chat")
	}
	ctx, cancel := context.WithTimeout(c.ctx, storeTimeout)
	defer cancel()
	_, err := c.h.opts.Agents.GetAgent(ctx, to)
	if errors.Is(err, store.ErrNotFound) {
		return fail(wire.CodeBadRequest, "to", "unknown agent %q", to)
	}
	if err != nil {
		return fail(wire.CodeInternal, "", "look up agent %s: %v", to, err)
	}
	return nil
}

func (c *conn) ask(req *request, a *pendingAck) error {
	m, err := c.joined(req)
	if err != nil {
		return err
	}
	vis := chat.VisAll
	if req.Op == wire.OpInvite {
		vis, err = chat.ParseVisibility(req.Visibility)
		if err != nil || vis == chat.VisVIP {
			return fail(wire.CodeBadRequest, "visibility", "visibility must be ALL (conference) or INT (consultation)")
		}
	} else if req.Visibility != "" {
		return fail(wire.CodeBadRequest, "visibility", "a transfer has no visibility")
	}
	if err := c.checkTarget(req.To); err != nil {
		return err
	}
	d, err := c.deskFor()
	if err != nil {
		return err
	}
	if req.Op == wire.OpTransfer {
		err = d.Transfer(m.sess.ID(), req.To)
	} else {
		err = d.Invite(m.sess.ID(), req.To, vis)
	}
	if err != nil {
		return err
	}
	a.frame = c.result(req)
	a.frame.SessionID = m.sess.ID()
	if v, err := c.h.opts.Router.Get(m.sess.ID()); err == nil {
		ix := encodeInteraction(v)
		a.frame.Interaction = &ix
	}
	return nil
}

// mayJoin applies the access rule of join, monitor and coach: an agent
// joins only sessions offered to it, assigned to it or inviting it; a
// supervisor (or a bot) also sessions of its queues.
func (c *conn) mayJoin(sess *chat.Session) error {
	if (c.agent.Type == store.UserSupervisor || c.agent.Type == store.UserBot) && slices.Contains(c.agent.Queues, sess.Queue()) {
		return nil
	}
	if c.h.opts.Router.MayJoin(sess.ID(), c.agent.ID) {
		return nil
	}
	return fail(wire.CodeForbidden, "sessionId", "account %s may not join session %s: it was not offered, assigned or invited, and queue %q is not one of its queues", c.agent.ID, sess.ID(), sess.Queue())
}

// supervise joins a session of the supervisor's queues as a silent
// monitor (VIP; the session is marked monitored) or a coach (INT).
func (c *conn) supervise(req *request, a *pendingAck) error {
	if c.agent.Type != store.UserSupervisor {
		return fail(wire.CodeForbidden, "op", "account %s is not a supervisor", c.agent.ID)
	}
	if req.SessionID == "" {
		return fail(wire.CodeBadRequest, "sessionId", "sessionId is required")
	}
	if req.Visibility != "" || req.UserType != "" {
		return fail(wire.CodeBadRequest, "visibility", "%s sets the visibility itself", req.Op)
	}
	vis := chat.VisVIP
	if req.Op == wire.OpCoach {
		vis = chat.VisInt
	}
	req.Visibility = vis.String()
	jr, err := c.joinRequest(req)
	if err != nil {
		return err
	}
	jr.Type = chat.Supervisor
	if err := c.checkMember(req.SessionID); err != nil {
		return err
	}
	sess, err := c.h.opts.Engine.Get(req.SessionID)
	if err != nil {
		return err
	}
	if !slices.Contains(c.agent.Queues, sess.Queue()) {
		return fail(wire.CodeForbidden, "sessionId", "queue %q of session %s is not one of supervisor %s's queues", sess.Queue(), sess.ID(), c.agent.ID)
	}
	if pw, err := c.h.opts.Router.Get(sess.ID()); err == nil {
		if p := pw.UserData.String(routing.KeySessionPassword); p != "" && jr.UserData.String(chat.KeySessionPassword) == "" {
			jr.UserData = jr.UserData.Clone()
			if jr.UserData == nil {
				jr.UserData = map[string]any{}
			}
			jr.UserData[chat.KeySessionPassword] = p
		}
	}
	p, rc, err := sess.Join(jr)
	if err != nil {
		return err
	}
	if req.Op == wire.OpMonitor {
		if err := sess.MarkMonitored(); err != nil {
			c.h.log.Warn("agent: mark session monitored", "session", sess.ID(), "err", err)
		}
	}
	m := &member{sess: sess, userID: p.UserID}
	c.addMember(m)
	c.receipt(req, a, sess.ID(), rc)
	a.frame.UserID = m.userID
	a.after = func() { c.startWatch(m) }
	return nil
}

// bargeIn makes the supervisor's party visible to everybody.
func (c *conn) bargeIn(req *request, a *pendingAck) error {
	if c.agent.Type != store.UserSupervisor {
		return fail(wire.CodeForbidden, "op", "account %s is not a supervisor", c.agent.ID)
	}
	m, err := c.joined(req)
	if err != nil {
		return err
	}
	rc, revealed, err := m.sess.Reveal(m.userID)
	if err != nil {
		return err
	}
	if !revealed {
		return fail(wire.CodeBadRequest, "sessionId", "this party is visible to everybody already")
	}
	c.receipt(req, a, m.sess.ID(), rc)
	return nil
}

// hold places an async chat on hold in a workbin and leaves it.
func (c *conn) hold(req *request, a *pendingAck) error {
	m, err := c.joined(req)
	if err != nil {
		return err
	}
	d, err := c.deskFor()
	if err != nil {
		return err
	}
	v, err := d.Hold(m.sess.ID(), req.Workbin)
	if err != nil {
		return err
	}
	rc, _, err := m.sess.Leave(chat.LeaveRequest{UserID: m.userID, After: chat.KeepAlive, Text: req.Text})
	c.dropMember(m)
	if err != nil {
		return err
	}
	c.receipt(req, a, m.sess.ID(), rc)
	v.State = routing.Held
	ix := encodeInteraction(v)
	a.frame.Interaction = &ix
	return nil
}

func (c *conn) workbin(req *request, a *pendingAck) error {
	d, err := c.deskFor()
	if err != nil {
		return err
	}
	if name, ok := strings.CutPrefix(req.Workbin, wire.QueuePrefix); ok && c.agent.Type != store.UserSupervisor && !slices.Contains(c.agent.Queues, name) {
		return fail(wire.CodeForbidden, "workbin", "queue %q is not one of account %s's queues", name, c.agent.ID)
	}
	list, err := d.Workbin(req.Workbin)
	if err != nil {
		return err
	}
	a.frame = c.result(req)
	for _, v := range list {
		a.frame.Interactions = append(a.frame.Interactions, encodeInteraction(v))
	}
	return nil
}

// history returns a page of the contact's earlier interactions.
func (c *conn) history(req *request, a *pendingAck) error {
	id := req.SessionID
	if id == "" {
		id = req.InteractionID
	}
	if id == "" {
		return fail(wire.CodeBadRequest, "sessionId", "sessionId (or interactionId) is required")
	}
	if req.Limit < 0 || req.Limit > historyMax {
		return fail(wire.CodeBadRequest, "limit", "limit must be 1 to %d", historyMax)
	}
	limit := req.Limit
	if limit == 0 {
		limit = historyDefault
	}
	if c.member(id) == nil && !c.h.opts.Router.MayJoin(id, c.agent.ID) {
		v, err := c.h.opts.Router.Get(id)
		if err != nil || c.agent.Type != store.UserSupervisor || !slices.Contains(c.agent.Queues, v.Queue) {
			return fail(wire.CodeForbidden, "sessionId", "account %s has no part in interaction %s", c.agent.ID, id)
		}
	}
	a.frame = c.result(req)
	a.frame.SessionID = id
	st := c.h.opts.History
	if st == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(c.ctx, storeTimeout)
	defer cancel()
	contact, _ := c.h.opts.Router.ContactID(id)
	if contact == "" {
		rec, err := st.GetInteraction(ctx, id)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return fail(wire.CodeInternal, "", "read interaction %s: %v", id, err)
		}
		contact = rec.ContactID
	}
	if contact == "" {
		return nil // anonymous: no history
	}
	a.frame.ContactID = contact
	recs, err := st.ListInteractions(ctx, store.InteractionFilter{ContactID: contact, Status: store.StatusClosed,
		AfterID: req.After, Limit: limit + 1, WithTranscript: true})
	if errors.Is(err, store.ErrNotFound) {
		return fail(wire.CodeBadRequest, "after", "after %q names no interaction", req.After)
	}
	if err != nil {
		return fail(wire.CodeInternal, "", "list the history of contact %s: %v", contact, err)
	}
	more := len(recs) > limit
	if more {
		recs = recs[:limit]
	}
	for _, r := range recs {
		if r.ID == id {
			continue
		}
		a.frame.History = append(a.frame.History, wire.HistoryEntry{ID: r.ID, Queue: r.Queue, Subject: r.Subject,
			State: r.State, CreatedAt: r.CreatedAt, ClosedAt: r.ClosedAt, Transcript: r.Transcript})
	}
	if more && len(recs) > 0 {
		a.frame.NextAfter = recs[len(recs)-1].ID
	}
	return nil
}
