package routing

import (
	"slices"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/config"
	"github.com/confab/confab/internal/kv"
)

// The chat.Journal methods. The engine calls them with the session lock
// held: they touch memory only.

// SessionCreated puts the new session's interaction into its queue.
func (r *Router) SessionCreated(info *chat.Info) chat.Waiter {
	x := &ixn{
		view: Interaction{
			ID: info.ID, SessionID: info.ID, Tenant: info.Tenant, Endpoint: info.Endpoint,
			Queue: info.Queue, Subject: info.Subject, Online: true, Async: info.Async,
			CreatedAt: info.CreatedAt,
		},
		base:         info.UserData.Clone(),
		password:     info.Password,
		awaitContact: r.opts.HistoryTells && !info.Restored,
	}
	if info.Async {
		x.view.AsyncStatus = AsyncNew
	}
	for _, p := range info.Participants { // a restored session's earlier agents may join again
		if p.PersonID != "" && (p.Type == chat.Agent || p.Type == chat.Supervisor) {
			x.served.add(p.PersonID)
		}
	}
	sh := r.shard(info.ID)
	sh.mu.Lock()
	sh.m[info.ID] = x
	r.changedLocked(x, ChangeCreated)
	sh.mu.Unlock()
	r.syncRoute(info.ID)
	return nil
}

// SessionUpdated follows changes of the customer's user data.
func (r *Router) SessionUpdated(info *chat.Info) chat.Waiter {
	sh := r.shard(info.ID)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	x := sh.m[info.ID]
	if x == nil || x.closed || kv.Equal(x.base, info.UserData) {
		return nil
	}
	x.base = info.UserData.Clone()
	r.changedLocked(x, ChangeUpdated)
	return nil
}

// EventAppended follows parties joining and leaving, and customer messages
// of async chats on hold. Other events return at once without a lock.
func (r *Router) EventAppended(sessionID string, ev *chat.Event) chat.Waiter {
	switch ev.Kind {
	case chat.NewParty, chat.PartyLeft:
	case chat.Message:
		if ev.From.Type != chat.Client {
			return nil
		}
	case chat.Notice:
		// The async idle alert, or a customer's notice that counts as
		// activity under async-idle-notices (it may wake a held chat).
		if (ev.Notice != chat.IdleAlert || ev.UserData.String(chat.KeyAsyncCheckAt) == "") && !r.asyncActivity(ev) {
			return nil
		}
	default:
		return nil
	}
	sh := r.shard(sessionID)
	sh.mu.Lock()
	x := sh.m[sessionID]
	if x == nil || x.closed {
		sh.mu.Unlock()
		return nil
	}
	before := x.snapshotKey()
	switch ev.Kind {
	case chat.NewParty:
		r.joinedLocked(x, ev.From, ev.Visibility)
	case chat.PartyLeft:
		r.leftLocked(x, ev)
	case chat.Message:
		if x.view.Async && x.onHold && x.agents == 0 {
			x.view.AsyncStatus = AsyncCustomerReplied
			x.onHold = false
		}
	case chat.Notice:
		switch {
		case !x.view.Async:
		case ev.From.Type == chat.System: // the async idle alert: the session closes soon
			x.view.AsyncStatus = AsyncIdleExpired
			x.view.AsyncCheckAt = ev.UserData.String(chat.KeyAsyncCheckAt)
		case x.onHold && x.agents == 0:
			x.view.AsyncStatus = AsyncCustomerReplied
			x.onHold = false
		}
	}
	changed := x.snapshotKey() != before
	if changed {
		r.changedLocked(x, ChangeUpdated)
	}
	sh.mu.Unlock()

	// Routing follows, outside the shard lock (see the lock order in
	// dispatch.go): an agent's load, and the interaction's place in its
	// queue. A party removed while the session closes is not routed.
	person := ev.From.PersonID
	if person != "" && (ev.Kind == chat.NewParty || ev.Kind == chat.PartyLeft) {
		r.partyMoved(sessionID, person, ev.Kind == chat.NewParty)
	}
	if changed && (ev.Kind != chat.PartyLeft || ev.Reason == chat.LeftNormally || ev.Reason == chat.LeftDisconnect) {
		r.syncRoute(sessionID)
	}
	return nil
}

// asyncActivity reports whether ev is a customer's notice that counts as
// activity under async-idle-notices (which also decides when a held async
// chat's status becomes 2).
func (r *Router) asyncActivity(ev *chat.Event) bool {
	if ev.From.Type != chat.Client {
		return false
	}
	set := config.NoticesMajor
	if cfg := r.opts.Engine.TimerConfig(); cfg != nil {
		set = cfg.Settings.AsyncIdleNotices
	}
	return ev.Qualifies(set)
}

// handles reports whether a party joining with visibility vis handles the
// chat for routing: an agent or supervisor that is not a bot, unless it is
// a supervisor watching silently (VIP), which leaves the chat queued.
func handles(p chat.Party, vis chat.Visibility) bool {
	return isAgent(p) && !(p.Type == chat.Supervisor && vis == chat.VisVIP)
}

func (r *Router) joinedLocked(x *ixn, p chat.Party, vis chat.Visibility) {
	if x.presentAt(p.UserID) >= 0 {
		// A party announced again: a supervisor barging in (now ALL).
		if !x.handling.has(p.UserID) && handles(p, vis) {
			x.handling.add(p.UserID)
			x.agents++
			x.everAgent = true
		}
		return
	}
	x.present = append(x.present, p)
	if p.PersonID != "" {
		x.served.add(p.PersonID)
	}
	if p.UserID == x.claimUser {
		x.assignee = p.UserID
		x.claimUser = ""
	}
	if handles(p, vis) {
		x.handling.add(p.UserID)
		x.agents++
		x.everAgent = true
		x.onHold = false
		x.heldBy = ""
		if x.view.Async {
			x.view.AsyncStatus = AsyncProcessing
		}
	}
}

func (r *Router) leftLocked(x *ixn, ev *chat.Event) {
	p := ev.From
	i := x.presentAt(p.UserID)
	if i < 0 {
		return
	}
	x.present = slices.Delete(x.present, i, i+1)
	if x.handling.remove(p.UserID) {
		x.agents--
	}
	if p.UserID == x.assignee {
		x.assignee = ""
		x.view.AgentID = ""
	}
	if x.view.Async && ev.Reason == chat.LeftDisconnect && (p.Type == chat.Agent || p.Type == chat.Supervisor) {
		x.view.AsyncStatus = AsyncAgentDisconnected
	}
}

// SessionClosed takes the interaction offline, or stops it when
// stop-abandoned-interaction says so.
func (r *Router) SessionClosed(final *chat.Final) chat.Waiter {
	r.closeLocked(final)
	r.syncRoute(final.ID)
	return nil
}

func (r *Router) closeLocked(final *chat.Final) {
	sh := r.shard(final.ID)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	x := sh.m[final.ID]
	if x == nil || x.closed {
		return
	}
	agentAtClose := false
	for i := range final.Participants {
		p := &final.Participants[i]
		if !p.Bot && (p.Type == chat.Agent || p.Type == chat.Supervisor) {
			x.everAgent = true
			if p.LeftAt.Equal(final.ClosedAt) {
				agentAtClose = true
			}
		}
	}
	x.base = final.UserData.Clone()
	x.closed = true
	x.view.Online = false
	x.view.ClosedAt = final.ClosedAt
	x.view.AgentID = ""
	x.present = nil
	x.agents = 0
	x.view.State = Offline
	if stop(r.opts.StopMode(), agentAtClose, x.everAgent) {
		x.view.State = Stopped
	}
	r.changedLocked(x, ChangeClosed)
}

// stop applies stop-abandoned-interaction: always, never, noagents (no
// agent was in the session when it closed) or noanswer (no agent ever
// joined). Bots never count as agents.
func stop(mode config.StopMode, agentAtClose, everAgent bool) bool {
	switch mode {
	case config.StopAlways:
		return true
	case config.StopNoAgents:
		return !agentAtClose
	case config.StopNoAnswer:
		return !everAgent
	}
	return false
}

// snapshotKey is what a change must alter to be published.
type viewKey struct {
	state       State
	asyncStatus int
	checkAt     string
	agentID     string
}

func (x *ixn) snapshotKey() viewKey {
	return viewKey{x.state(), x.view.AsyncStatus, x.view.AsyncCheckAt, x.view.AgentID}
}
