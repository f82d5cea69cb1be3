package stats

import (
	"time"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/config"
)

// role is how a party counts for the statistics.
type role uint8

const (
	roleOther    role = iota // workflow, system, external
	roleCustomer             // a CLIENT
	roleAgent                // an agent or supervisor visible to the customer (ALL), not a bot
	roleCoach                // an agent or supervisor joined with INT visibility
	roleMonitor              // a supervisor joined with VIP visibility
	roleBot                  // a party with the BOT style
)

// roleOf classifies a party by its join event.
func roleOf(p chat.Party, joinVis chat.Visibility) role {
	switch {
	case p.Bot:
		return roleBot
	case p.Type == chat.Client:
		return roleCustomer
	case p.Type == chat.Agent || p.Type == chat.Supervisor:
		switch joinVis {
		case chat.VisAll:
			return roleAgent
		case chat.VisInt:
			return roleCoach
		default:
			return roleMonitor
		}
	}
	return roleOther
}

// timeline is what one pass over the transcript finds.
type timeline struct {
	handle, activeIdle, dormant, asyncIdle             acc
	agentReply, agentWait, customerReply, customerWait acc
	agentMsgs, agentSize, clientMsgs, clientSize       int64
	botMsgs, botSize                                   int64
	agents, coaches, monitors, bots                    map[string]bool
	firstAgent, firstReply, firstBot                   time.Time
	withCustomer                                       time.Duration
	endedAgent, endedBy, endedReason                   string
}

// identity is how a party is recognised when it joins again: its person
// (agent login) id when it has one, else its user id.
func identity(f *chat.Final, userID string) string {
	for i := range f.Participants {
		if p := &f.Participants[i]; p.UserID == userID && p.PersonID != "" {
			return "person:" + p.PersonID
		}
	}
	return "user:" + userID
}

// idlePeriod follows one kind of inactivity control through the
// transcript: a period starts at the engine's first IDLE_CONTROL_ALERT
// after the last activity and ends at the next event that counts as
// activity for that control, at IDLE_CONTROL_CLOSE or at the close.
type idlePeriod struct {
	notices  config.NoticeSet // which notices count as activity
	last     time.Time        // the last activity
	alerted  time.Time        // the period's first alert; zero outside a period
	counting bool             // the period counts (the state it needs held at its alert)
}

// activity ends the running period into a (when it counts) at at.
func (p *idlePeriod) end(a *acc, at time.Time) {
	if !p.alerted.IsZero() && p.counting {
		a.count++
		a.total += at.Sub(p.alerted)
		a.max = max(a.max, at.Sub(p.last))
	}
	p.alerted = time.Time{}
}

// alert starts a period at at unless one runs; counting says whether it
// counts.
func (p *idlePeriod) alert(at time.Time, counting bool) {
	if p.alerted.IsZero() {
		p.alerted, p.counting = at, counting
	}
}

// isAsyncAlert tells the async idle alert (which names the workflow's
// check time) from inactivity control's alerts.
func isAsyncAlert(ev *chat.Event) bool {
	_, ok := ev.UserData[chat.KeyAsyncCheckAt]
	return ok
}

func analyse(f *chat.Final, o Options) *timeline {
	if f.IdleNotices != "" {
		o.IdleNotices = f.IdleNotices
	}
	t := &timeline{agents: map[string]bool{}, coaches: map[string]bool{}, monitors: map[string]bool{}, bots: map[string]bool{}}
	roles := map[string]role{} // user id → role
	var (
		agentsIn, clientsIn   int
		handleStart, custFrom time.Time
		everAgent             bool
		dormantFrom           time.Time // zero when not dormant
		active                = idlePeriod{notices: o.IdleNotices, last: f.CreatedAt}
		asyncIdle             = idlePeriod{notices: o.AsyncIdleNotices, last: f.CreatedAt}
		noAgent               []span // periods with no agent, for the async exclusions
		noAgentFrom           = f.CreatedAt
	)
	// Wait/reply runs: side of the current run of visible messages, its
	// first and last message times.
	const (
		sideNone = iota
		sideCustomer
		sideAgent
	)
	side := sideNone
	var runFirst, runLast time.Time
	excl := func(from, to time.Time) time.Duration {
		d := to.Sub(from)
		if f.Async {
			d -= overlap(noAgent, noAgentFrom, agentsIn == 0, from, to)
		}
		return d
	}
	endDormant := func(at time.Time) {
		if !dormantFrom.IsZero() {
			if at.After(dormantFrom) {
				t.dormant.add(at.Sub(dormantFrom))
			}
			dormantFrom = time.Time{}
		}
	}
	for i := range f.Events {
		ev := &f.Events[i]
		at := ev.Time
		switch {
		case ev.Kind == chat.Notice && ev.Notice == chat.IdleAlert && isAsyncAlert(ev):
			asyncIdle.alert(at, f.Async && agentsIn == 0 && everAgent)
		case ev.Kind == chat.Notice && ev.Notice == chat.IdleAlert:
			active.alert(at, agentsIn > 0)
		case ev.Kind == chat.Notice && ev.Notice == chat.IdleClose:
			active.end(&t.activeIdle, at)
			asyncIdle.end(&t.asyncIdle, at)
		}
		if ev.Qualifies(active.notices) {
			active.end(&t.activeIdle, at)
			active.last = at
		}
		if ev.Qualifies(asyncIdle.notices) {
			asyncIdle.end(&t.asyncIdle, at)
			asyncIdle.last = at
		}
		switch ev.Kind {
		case chat.NewParty:
			r := roleOf(ev.From, ev.Visibility)
			roles[ev.From.UserID] = r
			id := identity(f, ev.From.UserID)
			switch r {
			case roleCustomer:
				if clientsIn == 0 {
					custFrom = at
				}
				clientsIn++
			case roleAgent:
				t.agents[id] = true
				if t.firstAgent.IsZero() {
					t.firstAgent = at
				}
				if agentsIn == 0 {
					handleStart = at
					noAgent = append(noAgent, span{noAgentFrom, at})
					endDormant(at)
				}
				agentsIn++
				everAgent = true
			case roleCoach:
				t.coaches[id] = true
			case roleMonitor:
				t.monitors[id] = true
			case roleBot:
				t.bots[id] = true
				if t.firstBot.IsZero() {
					t.firstBot = at
				}
			}
		case chat.PartyLeft:
			switch roles[ev.From.UserID] {
			case roleCustomer:
				clientsIn--
				if clientsIn == 0 {
					t.withCustomer += at.Sub(custFrom)
				}
			case roleAgent:
				agentsIn--
				if agentsIn == 0 {
					t.handle.add(at.Sub(handleStart))
					noAgentFrom = at
					if f.Async && at.Before(f.ClosedAt) {
						dormantFrom = at
					}
				}
			}
		case chat.Message:
			r := roles[ev.From.UserID]
			visible := ev.Visibility == chat.VisAll && ev.ReceiverID == ""
			switch {
			case r == roleCustomer:
				t.clientMsgs++
				t.clientSize += chars(ev.Text)
				endDormant(at) // a customer message wakes a dormant session (routing follows)
				if side == sideAgent {
					t.agentWait.add(excl(runLast, at))
					t.customerReply.add(at.Sub(runFirst))
				}
				if side != sideCustomer {
					side, runFirst = sideCustomer, at
				}
				runLast = at
			case r == roleAgent && visible:
				t.agentMsgs++
				t.agentSize += chars(ev.Text)
				if t.firstReply.IsZero() {
					t.firstReply = at
				}
				if side == sideCustomer {
					t.customerWait.add(at.Sub(runLast))
					t.agentReply.add(excl(runFirst, at))
				}
				if side != sideAgent {
					side, runFirst = sideAgent, at
				}
				runLast = at
			case r == roleBot && visible:
				t.botMsgs++
				t.botSize += chars(ev.Text)
			}
		}
	}
	active.end(&t.activeIdle, f.ClosedAt)
	asyncIdle.end(&t.asyncIdle, f.ClosedAt)
	endDormant(f.ClosedAt)
	if agentsIn > 0 { // cannot happen for a closed session; be safe
		t.handle.add(f.ClosedAt.Sub(handleStart))
	}
	if clientsIn > 0 {
		t.withCustomer += f.ClosedAt.Sub(custFrom)
	}
	t.endedAgent, t.endedBy, t.endedReason = ending(f, roles)
	return t
}

// span is a half-open time interval.
type span struct{ from, to time.Time }

// overlap returns how much of [from, to) falls in the spans, counting an
// open span from openFrom when open is set.
func overlap(spans []span, openFrom time.Time, open bool, from, to time.Time) time.Duration {
	var d time.Duration
	add := func(a, b time.Time) {
		if a.Before(from) {
			a = from
		}
		if b.After(to) {
			b = to
		}
		if b.After(a) {
			d += b.Sub(a)
		}
	}
	for _, s := range spans {
		add(s.from, s.to)
	}
	if open {
		add(openFrom, to)
	}
	return d
}
