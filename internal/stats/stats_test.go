package stats_test

import (
	"testing"
	"time"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/config"
	"github.com/confab/confab/internal/kv"
	"github.com/confab/confab/internal/stats"
)

// capture is a journal that keeps the final record of the closed session.
type capture struct{ final *chat.Final }

func (c *capture) SessionCreated(*chat.Info) chat.Waiter         { return nil }
func (c *capture) SessionUpdated(*chat.Info) chat.Waiter         { return nil }
func (c *capture) EventAppended(string, *chat.Event) chat.Waiter { return nil }
func (c *capture) SessionClosed(f *chat.Final) chat.Waiter {
	cp := *f
	cp.Events = append([]chat.Event(nil), f.Events...)
	c.final = &cp
	return nil
}

// script drives one session on the fake clock: each step runs after the
// clock advanced by wait seconds.
type step struct {
	wait int
	do   func(t *testing.T, s *chat.Session)
}

func join(id string, typ chat.UserType, vis chat.Visibility, bot bool) func(*testing.T, *chat.Session) {
	return func(t *testing.T, s *chat.Session) {
		t.Helper()
		req := chat.JoinRequest{UserID: id, Nick: id, Type: typ, Visibility: vis, PersonID: id}
		if bot {
			req.UserData = kv.Map{chat.KeySetPartyStyle: "BOT"}
		}
		if _, _, err := s.Join(req); err != nil {
			t.Fatalf("join %s: %v", id, err)
		}
	}
}

func say(id, text string) func(*testing.T, *chat.Session) {
	return sayVis(id, text, chat.VisAll)
}

func sayVis(id, text string, vis chat.Visibility) func(*testing.T, *chat.Session) {
	return func(t *testing.T, s *chat.Session) {
		t.Helper()
		if _, err := s.Send(id, chat.Msg{Text: text, Visibility: vis}); err != nil {
			t.Fatalf("send %s: %v", id, err)
		}
	}
}

func leave(id string, after chat.AfterAction) func(*testing.T, *chat.Session) {
	return func(t *testing.T, s *chat.Session) {
		t.Helper()
		if _, _, err := s.Leave(chat.LeaveRequest{UserID: id, After: after}); err != nil {
			t.Fatalf("leave %s: %v", id, err)
		}
	}
}

func disconnect(id string) func(*testing.T, *chat.Session) {
	return func(t *testing.T, s *chat.Session) {
		t.Helper()
		if _, _, err := s.Leave(chat.LeaveRequest{UserID: id, Reason: chat.LeftDisconnect}); err != nil {
			t.Fatalf("disconnect %s: %v", id, err)
		}
	}
}

func closeWith(r chat.LeaveReason) func(*testing.T, *chat.Session) {
	return func(t *testing.T, s *chat.Session) {
		t.Helper()
		if _, _, err := s.Close(chat.CloseRequest{Reason: r}); err != nil {
			t.Fatalf("close: %v", err)
		}
	}
}

var start = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

func run(t *testing.T, async bool, ud kv.Map, steps []step) *chat.Final {
	t.Helper()
	return runTimed(t, "", async, ud, steps)
}

// noFlexTimeout keeps the scripted customer from timing out (it sends no
// requests between its steps).
const noFlexTimeout = "[settings]\nflex-disconnect-timeout = 1728000\n"

// runTimed is run with the engine's timers on under the configuration
// ini (none when ini is ""): inactivity control and async idle control
// then put their IDLE_CONTROL_* notices into the transcript as the
// scripted clock passes their deadlines.
func runTimed(t *testing.T, ini string, async bool, ud kv.Map, steps []step) *chat.Final {
	t.Helper()
	clk := clock.NewFake(start)
	cap := &capture{}
	e := chat.New(chat.Options{Clock: clk, Journal: cap})
	if ini != "" {
		cfg, _, err := config.Parse("stats.ini", []byte(ini))
		if err != nil {
			t.Fatal(err)
		}
		e.SetTimers(chat.TimerOptions{Config: func() *config.Config { return cfg }})
	}
	s, _, _, err := e.Create(chat.CreateRequest{Tenant: "1", Endpoint: "default", Async: async, UserData: ud,
		Creator: chat.JoinRequest{UserID: "cust", Nick: "Ann", Type: chat.Client, Protocol: chat.Flex}})
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range steps {
		clk.Advance(time.Duration(st.wait) * time.Second)
		st.do(t, s)
	}
	if cap.final == nil {
		t.Fatal("the script did not close the session")
	}
	return cap.final
}

// A regular chat: the customer waits 10 s for an agent, a bot greets at
// 2 s, a coach (INT) and a monitor (VIP) join, the agent and the customer
// exchange messages, the agent closes it.
func agentBotCoachScript() []step {
	return []step{
		{2, join("bot", chat.Agent, chat.VisAll, true)},
		{0, say("bot", "Hi")},                                   // 2 s, bots are not agents
		{1, leave("bot", chat.KeepAlive)},                       // 3 s
		{7, join("agent", chat.Agent, chat.VisAll, false)},      // 10 s
		{5, say("agent", "Hello, how can I help?")},             // 15 s: first reply
		{10, say("cust", "My order")},                           // 25 s
		{5, say("cust", "is late")},                             // 30 s
		{0, join("coach", chat.Supervisor, chat.VisInt, false)}, // 30 s
		{0, sayVis("coach", "offer a voucher", chat.VisInt)},    // not visible: not counted
		{0, join("mon", chat.Supervisor, chat.VisVIP, false)},   // 30 s
		{20, say("agent", "Sorry!")},                            // 50 s
		{5, say("agent", "Here is a voucher")},                  // 55 s
		{15, say("cust", "Thanks")},                             // 70 s
		{10, leave("agent", chat.ForceClose)},                   // 80 s
	}
}

func TestStatistics(t *testing.T) {
	ini := noFlexTimeout + "[inactivity-control]\nenabled = true\ntimeout-alert = 16\ntimeout-close = 86400\n"
	f := runTimed(t, ini, false, kv.Map{"GCTI_LanguageName": "english", "MediaOrigin": "web"}, agentBotCoachScript())
	if n := countNotices(f, chat.IdleAlert); n != 1 {
		t.Fatalf("the script has %d IDLE_CONTROL_ALERT notices, want 1 (at 46 s)", n)
	}
	got := stats.Compute(f, stats.Options{Mode: stats.All})
	want := map[string]string{
		"ChatServerSessionStartedAt":     "2026-12-01T09:00:00.000Z",
		"ChatServerSessionClosedAt":      "2026-12-01T09:01:20.000Z",
		"csg_MediaType":                  "chat",
		"csg_TenantId":                   "1",
		"csg_ChatSessionID":              f.ID,
		"csg_LanguageName":               "english",
		"csg_MediaOrigin":                "web",
		"csg_ChatAsyncMode":              "0",
		"csg_SessionEndedAgent":          "PRESENT",
		"csg_SessionEndedBy":             "AGENT",
		"csg_SessionEndedReason":         "FORCE",
		"csg_MessagesFromAgentsCount":    "3",
		"csg_MessagesFromAgentsSize":     "45", // 22 + 6 + 17
		"csg_MessagesFromCustomersCount": "3",
		"csg_MessagesFromCustomersSize":  "21", // 8 + 7 + 6
		"csg_PartiesAsAgentCount":        "1",
		"csg_PartiesAsCoachCount":        "1",
		"csg_PartiesAsMonitorCount":      "1",
		"csg_SessionTotalTime":           "80",
		"csg_SessionUntilFirstAgentTime": "10",
		"csg_SessionUntilFirstReplyTime": "15",
		"csg_SessionWithCustomerTime":    "80",
		"cse_SessionHandleTotalCount":    "1",
		"cse_SessionHandleTotalTime":     "70",
		"cse_SessionHandleMaxTime":       "70",
		// Activity (for include-notices) at 10, 15, 25, 30, 50, 55, 70,
		// 80: inactivity control alerts at 46 (30 + 16); the agent's
		// message at 50 ends the idle period: 4 s over the threshold,
		// 20 s without activity.
		"cse_ActiveIdleTotalCount": "1",
		"cse_ActiveIdleTotalTime":  "4",
		"cse_ActiveIdleMaxTime":    "20",
		// Customer runs [25,30] and [70]; agent runs [15], [50,55].
		// Agent replies: 25→50 (25 s). Customer waits: 30→50 (20 s).
		"cse_AgentReplyTotalCount":   "1",
		"cse_AgentReplyTotalTime":    "25",
		"cse_AgentReplyMaxTime":      "25",
		"cse_CustomerWaitTotalCount": "1",
		"cse_CustomerWaitTotalTime":  "20",
		"cse_CustomerWaitMaxTime":    "20",
		// Agent waits 15→25 (10) and 55→70 (15); customer replies 15→25 (10) and 50→70 (20).
		"cse_AgentWaitTotalCount":      "2",
		"cse_AgentWaitTotalTime":       "25",
		"cse_AgentWaitMaxTime":         "15",
		"cse_CustomerReplyTotalCount":  "2",
		"cse_CustomerReplyTotalTime":   "30",
		"cse_CustomerReplyMaxTime":     "20",
		"csg_MessagesFromBotsCount":    "1",
		"csg_MessagesFromBotsSize":     "2",
		"csg_SessionUntilFirstBotTime": "2",
		"csg_PartiesAsBotCount":        "1",
	}
	check(t, got, want)
	for _, k := range []string{"cse_AsyncDormantTotalCount", "cse_AsyncIdleTotalCount"} {
		if _, ok := got[k]; ok {
			t.Errorf("%s attached to a regular session", k)
		}
	}
}

func check(t *testing.T, got kv.Map, want map[string]string) {
	t.Helper()
	for k, w := range want {
		if g := got.String(k); g != w {
			t.Errorf("%s = %q, want %q", k, g, w)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected key %s = %q", k, got.String(k))
		}
	}
}

func TestModes(t *testing.T) {
	// The customer leaves alone after 30 s: nothing fired but the basics.
	f := run(t, false, nil, []step{{30, leave("cust", chat.KeepAlive)}})
	base := map[string]string{
		"ChatServerSessionStartedAt": "2026-12-01T09:00:00.000Z",
		"ChatServerSessionClosedAt":  "2026-12-01T09:00:30.000Z",
		"csg_MediaType":              "chat",
		"csg_TenantId":               "1",
	}
	check(t, stats.Compute(f, stats.Options{Mode: stats.None}), base)

	fired := map[string]string{
		"csg_ChatSessionID":           f.ID,
		"csg_ChatAsyncMode":           "0",
		"csg_SessionEndedAgent":       "ABSENT",
		"csg_SessionEndedBy":          "CLIENT",
		"csg_SessionEndedReason":      "QUIT",
		"csg_SessionTotalTime":        "30",
		"csg_SessionWithCustomerTime": "30",
	}
	for k, v := range base {
		fired[k] = v
	}
	check(t, stats.Compute(f, stats.Options{Mode: stats.Fired}), fired)

	all := stats.Compute(f, stats.Options{Mode: stats.All})
	for _, k := range []string{"cse_AgentReplyTotalCount", "csg_PartiesAsAgentCount", "csg_SessionUntilFirstAgentTime", "csg_MessagesFromBotsCount", "cse_ActiveIdleMaxTime", "csg_PartiesAsCoachCount"} {
		if all.String(k) != "0" {
			t.Errorf("all: %s = %q, want 0", k, all.String(k))
		}
	}
	if len(all) <= len(fired) {
		t.Errorf("all has %d keys, fired %d", len(all), len(fired))
	}
}

func TestEndings(t *testing.T) {
	agent := join("agent", chat.Agent, chat.VisAll, false)
	cases := []struct {
		name              string
		steps             []step
		agent, by, reason string
	}{
		{"customer disconnects first", []step{{1, agent}, {1, disconnect("cust")}, {1, leave("agent", chat.KeepAlive)}}, "PRESENT", "CLIENT", "DISCONNECT"},
		{"agent gone before the customer", []step{{1, agent}, {1, leave("agent", chat.KeepAlive)}, {1, disconnect("cust")}}, "VISITED", "CLIENT", "DISCONNECT"},
		{"agent quits last, session without customer", []step{{1, agent}, {1, leave("cust", chat.KeepAlive)}, {1, leave("agent", chat.KeepAlive)}}, "PRESENT", "CLIENT", "QUIT"},
		{"agent close-if-no-agents", []step{{1, agent}, {1, leave("agent", chat.CloseIfNoAgents)}}, "PRESENT", "AGENT", "FORCE"},
		{"supervisor force close", []step{{1, join("sup", chat.Supervisor, chat.VisAll, false)}, {1, leave("sup", chat.ForceClose)}}, "PRESENT", "SUPERVISOR", "FORCE"},
		{"bot force close", []step{{1, join("bot", chat.Agent, chat.VisAll, true)}, {1, leave("bot", chat.ForceClose)}}, "ABSENT", "BOT", "FORCE"},
		{"inactivity", []step{{1, agent}, {1, leave("agent", chat.KeepAlive)}, {60, closeWith(chat.RemovedIdle)}}, "VISITED", "SYSTEM", "INACTIVE"},
		{"workflow close", []step{{1, agent}, {1, closeWith(chat.RemovedByServer)}}, "PRESENT", "SYSTEM", "FORCE"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := stats.Compute(run(t, false, nil, c.steps), stats.Options{Mode: stats.Fired})
			if got.String("csg_SessionEndedAgent") != c.agent || got.String("csg_SessionEndedBy") != c.by || got.String("csg_SessionEndedReason") != c.reason {
				t.Errorf("ended agent/by/reason = %s/%s/%s, want %s/%s/%s", got.String("csg_SessionEndedAgent"),
					got.String("csg_SessionEndedBy"), got.String("csg_SessionEndedReason"), c.agent, c.by, c.reason)
			}
		})
	}
}

// TestAsync scripts an async session: the agent leaves (dormant), the
// customer writes 100 s later, another agent joins 30 s after that.
func TestAsync(t *testing.T) {
	ini := noFlexTimeout + "async-idle-alert = 60\nasync-idle-close = 1728000\n"
	f := runTimed(t, ini, true, nil, []step{
		{5, join("a1", chat.Agent, chat.VisAll, false)},  // 5
		{5, say("a1", "Hi")},                             // 10
		{10, say("cust", "question")},                    // 20
		{5, leave("a1", chat.KeepAlive)},                 // 25: dormant
		{100, say("cust", "still there?")},               // 125: dormant ends (100 s)
		{30, join("a2", chat.Agent, chat.VisAll, false)}, // 155
		{5, say("a2", "yes")},                            // 160
		{40, leave("a2", chat.KeepAlive)},                // 200: dormant again
		{300, leave("cust", chat.KeepAlive)},             // 500: closes; dormant 300
	})
	if n := countNotices(f, chat.IdleAlert); n != 2 {
		t.Fatalf("the script has %d async IDLE_CONTROL_ALERT notices, want 2 (at 85 and 260 s)", n)
	}
	got := stats.Compute(f, stats.Options{Mode: stats.Fired})
	want := map[string]string{
		"csg_ChatAsyncMode":          "1",
		"cse_AsyncDormantTotalCount": "2",
		"cse_AsyncDormantTotalTime":  "400",
		"cse_AsyncDormantMaxTime":    "300",
		// The async idle alerts come at 85 (25 + 60) and 260 (200 + 60),
		// with no agent in the session: the periods end at the
		// customer's message at 125 and at the close at 500 — 40 and
		// 240 s over the threshold, 100 and 300 s without activity.
		"cse_AsyncIdleTotalCount": "2",
		"cse_AsyncIdleTotalTime":  "280",
		"cse_AsyncIdleMaxTime":    "300",
		// Customer run [20,125] answered at 160: the reply counts only time
		// with an agent in the session: 20→25 and 155→160 = 10 s.
		"cse_AgentReplyTotalTime":     "10",
		"cse_SessionHandleTotalCount": "2",
		"cse_SessionHandleTotalTime":  "65", // 5→25 and 155→200
	}
	for k, w := range want {
		if g := got.String(k); g != w {
			t.Errorf("%s = %q, want %q", k, g, w)
		}
	}
}

// TestInterim runs an async session with Options.Interim wired as the
// server wires it: with dormant, the statistics so far land in the
// session's user data when the last agent leaves, not when one joins.
func TestInterim(t *testing.T) {
	for _, c := range []struct {
		events      string
		wantOnJoin  bool
		wantOnLeave bool
	}{{stats.RepDormant, false, true}, {stats.RepAll, true, true}, {stats.RepNone, false, false}} {
		t.Run(c.events, func(t *testing.T) {
			clk := clock.NewFake(start)
			e := chat.New(chat.Options{Clock: clk, Interim: func(f *chat.Final, ev *chat.Event) kv.Map {
				return stats.Interim(f, ev, c.events, stats.Options{Mode: stats.All})
			}})
			s, _, _, err := e.Create(chat.CreateRequest{Tenant: "1", Async: true, Creator: chat.JoinRequest{UserID: "cust", Type: chat.Client}})
			if err != nil {
				t.Fatal(err)
			}
			clk.Advance(5 * time.Second)
			join("a1", chat.Agent, chat.VisAll, false)(t, s)
			if got := s.Info().UserData.String("cse_SessionHandleTotalCount"); (got != "") != c.wantOnJoin {
				t.Errorf("after the join: cse_SessionHandleTotalCount %q", got)
			}
			clk.Advance(10 * time.Second)
			say("a1", "hello")(t, s)
			leave("a1", chat.KeepAlive)(t, s)
			ud := s.Info().UserData
			if !c.wantOnLeave {
				if len(ud) != 0 {
					t.Errorf("user data %v", ud)
				}
				return
			}
			want := map[string]string{"cse_SessionHandleTotalCount": "1", "cse_SessionHandleTotalTime": "10", "csg_MessagesFromAgentsCount": "1",
				"csg_SessionUntilFirstAgentTime": "5", "csg_ChatAsyncMode": "1"}
			for k, v := range want {
				if ud.String(k) != v {
					t.Errorf("after the agent left: %s = %q, want %q", k, ud.String(k), v)
				}
			}
			for _, k := range []string{"ChatServerSessionClosedAt", "csg_SessionEndedBy"} {
				if _, ok := ud[k]; ok {
					t.Errorf("intermediate statistics carry %s", k)
				}
			}
		})
	}
}

func countNotices(f *chat.Final, n chat.NoticeType) int {
	c := 0
	for i := range f.Events {
		if ev := &f.Events[i]; ev.Kind == chat.Notice && ev.Notice == n {
			c++
		}
	}
	return c
}

func typing(id string) func(*testing.T, *chat.Session) {
	return func(t *testing.T, s *chat.Session) {
		t.Helper()
		if _, err := s.Notify(id, chat.Note{Type: chat.TypingStarted, Visibility: chat.VisAll}); err != nil {
			t.Fatalf("typing %s: %v", id, err)
		}
	}
}

func configureIdle(o chat.IdleOverride) func(*testing.T, *chat.Session) {
	return func(t *testing.T, s *chat.Session) {
		t.Helper()
		if err := s.ConfigureIdle(o, false); err != nil {
			t.Fatal(err)
		}
	}
}

// TestIdleFromNotices: cse_ActiveIdle* follow the engine's inactivity
// control as the transcript records it — one period per run of alerts,
// from the first alert to the next activity, IDLE_CONTROL_CLOSE or the
// close — with the session's own values where the workflow set them.
func TestIdleFromNotices(t *testing.T) {
	secs := func(n int) *time.Duration { d := time.Duration(n) * time.Second; return &d }
	on := true
	typingSet := config.NoticesTyping
	agent := join("agent", chat.Agent, chat.VisAll, false)
	cases := []struct {
		name                string
		ini                 string
		steps               []step
		count, total, maxim string
	}{
		{"alert then activity", "enabled = true\ntimeout-alert = 10\ntimeout-close = 86400\n", []step{
			{5, agent},
			{30, say("cust", "hello?")}, // alert at 15: 20 s over, 30 s quiet
			{5, leave("agent", chat.ForceClose)},
		}, "1", "20", "30"},
		{"no alert below the threshold", "enabled = true\ntimeout-alert = 10\ntimeout-close = 86400\n", []step{
			{5, agent},
			{9, say("cust", "hello?")},
			{9, say("agent", "yes")},
			{5, leave("agent", chat.ForceClose)},
		}, "", "", ""},
		{"alert, alert2 and the close are one period", "enabled = true\ntimeout-alert = 10\ntimeout-alert2 = 10\ntimeout-close = 10\n", []step{
			{5, agent},
			{40, func(*testing.T, *chat.Session) {}}, // alerts at 15 and 25, closed at 35
		}, "1", "20", "30"},
		{"the workflow's own timeout", "enabled = false\n", []step{
			{5, agent},
			{0, configureIdle(chat.IdleOverride{Enabled: &on, TimeoutAlert: secs(5), TimeoutClose: secs(86400)})},
			{15, say("cust", "hello?")}, // alert at 10: 10 s over, 15 s since the join
			{2, say("agent", "sorry")},
			{1, leave("agent", chat.ForceClose)},
		}, "1", "10", "15"},
		{"typing counts when the workflow says so", "enabled = true\ntimeout-alert = 10\ntimeout-close = 86400\n", []step{
			{5, agent},
			{0, configureIdle(chat.IdleOverride{IncludeNotices: &typingSet})},
			{15, typing("cust")},        // alert at 15, ended at 20: 5 over, 15 quiet
			{12, say("cust", "hello?")}, // alert at 30, ended at 32: 2 over, 12 quiet
			{1, leave("agent", chat.ForceClose)},
		}, "2", "7", "15"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ini := noFlexTimeout + "[inactivity-control]\n" + c.ini
			f := runTimed(t, ini, false, nil, c.steps)
			got := stats.Compute(f, stats.Options{Mode: stats.Fired, IdleNotices: config.NoticesNone})
			for k, w := range map[string]string{"cse_ActiveIdleTotalCount": c.count, "cse_ActiveIdleTotalTime": c.total, "cse_ActiveIdleMaxTime": c.maxim} {
				if g := got.String(k); g != w {
					t.Errorf("%s = %q, want %q (alerts: %d)", k, g, w, countNotices(f, chat.IdleAlert))
				}
			}
		})
	}
}
