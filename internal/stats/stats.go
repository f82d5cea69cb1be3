package stats

import (
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/config"
	"github.com/confab/confab/internal/kv"
)

// Mode is the value of attach-session-statistics.
type Mode string

// Modes.
const (
	// None attaches only the keys the reference always attaches
	// (ChatServerSessionStartedAt, ChatServerSessionClosedAt, csg_MediaType,
	// csg_TenantId).
	None Mode = "none"
	// Fired adds the statistics that occurred: a count/total/max group
	// whose count is zero and a first-X time that never happened are left out.
	Fired Mode = "fired"
	// All adds every statistic, zero or not.
	All Mode = "all"
)

// Options parameterise Compute.
type Options struct {
	Mode Mode
	// IdleNotices is [inactivity-control] include-notices: the notices
	// that count as activity for inactivity control, so end an idle
	// period of cse_ActiveIdle* (a session's own value, set by the
	// workflow, replaces it). The periods themselves come from the
	// engine's IDLE_CONTROL_ALERT notices in the transcript.
	IdleNotices config.NoticeSet
	// AsyncIdleNotices is async-idle-notices, the same for cse_AsyncIdle*.
	AsyncIdleNotices config.NoticeSet
}

// Timestamp is the layout of ChatServerSessionStartedAt/ClosedAt: UTC,
// RFC 3339 with milliseconds.
const Timestamp = "2006-01-02T15:04:05.000Z"

// Values of csg_SessionEndedAgent, csg_SessionEndedBy and csg_SessionEndedReason.
const (
	AgentAbsent  = "ABSENT"
	AgentPresent = "PRESENT"
	AgentVisited = "VISITED"

	ByClient     = "CLIENT"
	ByAgent      = "AGENT"
	BySupervisor = "SUPERVISOR"
	ByBot        = "BOT"
	BySystem     = "SYSTEM"

	ReasonDisconnect = "DISCONNECT"
	ReasonQuit       = "QUIT"
	ReasonForce      = "FORCE"
	ReasonInactive   = "INACTIVE"
)

// Compute returns the statistics of a closed session for mode o.Mode, as
// user-data key-value pairs (every value a string: times in whole seconds,
// sizes in characters).
func Compute(f *chat.Final, o Options) kv.Map {
	out := kv.Map{
		"ChatServerSessionStartedAt": f.CreatedAt.UTC().Format(Timestamp),
		"ChatServerSessionClosedAt":  f.ClosedAt.UTC().Format(Timestamp),
		"csg_MediaType":              mediaType(f.UserData),
		"csg_TenantId":               f.Tenant,
	}
	if o.Mode != Fired && o.Mode != All {
		return out
	}
	fired := o.Mode == Fired
	t := analyse(f, o)
	out["csg_ChatSessionID"] = f.ID
	if v := f.UserData.String("GCTI_LanguageName"); v != "" {
		out["csg_LanguageName"] = v
	}
	if v := f.UserData.String("MediaOrigin"); v != "" {
		out["csg_MediaOrigin"] = v
	}
	out["csg_ChatAsyncMode"] = boolDigit(f.Async)
	out["csg_SessionEndedAgent"] = t.endedAgent
	out["csg_SessionEndedBy"] = t.endedBy
	out["csg_SessionEndedReason"] = t.endedReason

	num := func(key string, n int64) { out[key] = strconv.FormatInt(n, 10) }
	secs := func(key string, d time.Duration) { out[key] = seconds(d) }
	group := func(prefix string, a acc) {
		if fired && a.count == 0 {
			return
		}
		secs(prefix+"MaxTime", a.max)
		num(prefix+"TotalCount", a.count)
		secs(prefix+"TotalTime", a.total)
	}
	countSize := func(prefix string, count, size int64) {
		if fired && count == 0 {
			return
		}
		num(prefix+"Count", count)
		num(prefix+"Size", size)
	}
	since := func(key string, at time.Time) {
		switch {
		case !at.IsZero():
			secs(key, at.Sub(f.CreatedAt))
		case !fired:
			num(key, 0)
		}
	}
	count := func(key string, n int) {
		if !fired || n > 0 {
			num(key, int64(n))
		}
	}

	// General transcript statistics.
	group("cse_ActiveIdle", t.activeIdle)
	group("cse_SessionHandle", t.handle)
	countSize("csg_MessagesFromAgents", t.agentMsgs, t.agentSize)
	countSize("csg_MessagesFromCustomers", t.clientMsgs, t.clientSize)
	count("csg_PartiesAsAgentCount", len(t.agents))
	count("csg_PartiesAsCoachCount", len(t.coaches))
	count("csg_PartiesAsMonitorCount", len(t.monitors))
	secs("csg_SessionTotalTime", f.ClosedAt.Sub(f.CreatedAt))
	since("csg_SessionUntilFirstAgentTime", t.firstAgent)
	since("csg_SessionUntilFirstReplyTime", t.firstReply)
	if !fired || t.withCustomer > 0 {
		secs("csg_SessionWithCustomerTime", t.withCustomer)
	}
	// Extended (wait-reply) statistics.
	group("cse_AgentReply", t.agentReply)
	group("cse_AgentWait", t.agentWait)
	group("cse_CustomerReply", t.customerReply)
	group("cse_CustomerWait", t.customerWait)
	// Async statistics, for async sessions only.
	if f.Async {
		group("cse_AsyncDormant", t.dormant)
		group("cse_AsyncIdle", t.asyncIdle)
	}
	// Bot statistics.
	countSize("csg_MessagesFromBots", t.botMsgs, t.botSize)
	since("csg_SessionUntilFirstBotTime", t.firstBot)
	count("csg_PartiesAsBotCount", len(t.bots))
	return out
}

func mediaType(ud kv.Map) string {
	if v := ud.String("MediaType"); v != "" {
		return v
	}
	return "chat"
}

func boolDigit(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// seconds formats d as whole seconds, rounded to the nearest.
func seconds(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	return strconv.FormatInt(int64((d+time.Second/2)/time.Second), 10)
}

// acc accumulates a count, a total and a maximum.
type acc struct {
	count      int64
	total, max time.Duration
}

func (a *acc) add(d time.Duration) {
	a.count++
	a.total += d
	a.max = max(a.max, d)
}

func chars(s string) int64 { return int64(utf8.RuneCountInString(s)) }
