package chat_test

import (
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/config"
	"github.com/confab/confab/internal/kv"
)

// timed is an engine with its timers on, a fake clock and a configuration
// the test can replace (a reload).
type timed struct {
	t      *testing.T
	clock  *clock.Fake
	engine *chat.Engine
	cfg    atomic.Pointer[config.Config]
	pings  pingLog
	mu     sync.Mutex
	warns  []string
}

type pingLog struct {
	mu    sync.Mutex
	users []string
}

func (p *pingLog) Ping(_, userID string) {
	p.mu.Lock()
	p.users = append(p.users, userID)
	p.mu.Unlock()
}

func (p *pingLog) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.users)
}

func parseINI(t testing.TB, ini string) *config.Config {
	t.Helper()
	cfg, _, err := config.Parse("test.ini", []byte(ini))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func newTimed(t *testing.T, ini string) *timed {
	t.Helper()
	tm := &timed{t: t, clock: clock.NewFake(t0)}
	tm.cfg.Store(parseINI(t, ini))
	tm.engine = chat.New(chat.Options{Clock: tm.clock, Settings: chat.Settings{ClosedGrace: time.Hour, SessionLimit: 1 << 20}})
	tm.engine.SetTimers(chat.TimerOptions{
		Config: tm.cfg.Load,
		Pinger: &tm.pings,
		Warn: func(msg string, args ...any) {
			tm.mu.Lock()
			defer tm.mu.Unlock()
			tm.warns = append(tm.warns, msg+" "+kvText(args))
		},
	})
	return tm
}

func kvText(args []any) string {
	s := ""
	for i := 0; i+1 < len(args); i += 2 {
		s += " " + args[i].(string) + "=" + toString(args[i+1])
	}
	return s
}

func toString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case error:
		return v.Error()
	}
	return "?"
}

func (tm *timed) reload(ini string) { tm.cfg.Store(parseINI(tm.t, ini)) }

// session starts a chat: a customer (flex) with user data ud, and an agent
// unless agent is false.
func (tm *timed) session(ud kv.Map, async, agent bool) (*chat.Session, chat.Participant, chat.Participant) {
	tm.t.Helper()
	s, c, _, err := tm.engine.Create(chat.CreateRequest{Async: async, UserData: ud,
		Creator: chat.JoinRequest{Nick: "John", Type: chat.Client, Protocol: chat.Flex}})
	if err != nil {
		tm.t.Fatal(err)
	}
	var a chat.Participant
	if agent {
		a, _, err = s.Join(chat.JoinRequest{Nick: "Anna", Type: chat.Agent, Protocol: chat.Basic})
		if err != nil {
			tm.t.Fatal(err)
		}
	}
	return s, c, a
}

// notices returns the server's idle notices in s: "ALERT:<text>" or "CLOSE:<text>".
func notices(s *chat.Session) []string {
	evs, _, _ := s.ReadAll(0, nil)
	var out []string
	for _, ev := range evs {
		if ev.Kind == chat.Notice && ev.From.Type == chat.System {
			switch ev.Notice {
			case chat.IdleAlert:
				out = append(out, "ALERT:"+ev.Text)
			case chat.IdleClose:
				out = append(out, "CLOSE:"+ev.Text)
			}
		}
	}
	return out
}

const chain = `
[settings]
flex-disconnect-timeout = 100000
[inactivity-control]
enabled = true
timeout-alert = 10
timeout-alert2 = 5
timeout-close = 3
message-alert = first
message-alert2 = second
message-close = bye
`

// TestInactivityChain walks the whole chain on the fake clock and checks
// each stage fires at its moment and not before, then that the close
// removes everyone with reason 7 (quit-reason-code 7 for the customer).
func TestInactivityChain(t *testing.T) {
	tm := newTimed(t, chain)
	s, c, a := tm.session(nil, false, true)
	steps := []struct {
		advance time.Duration
		want    []string
	}{
		{9 * time.Second, nil},
		{time.Second, []string{"ALERT:first"}},
		{4 * time.Second, []string{"ALERT:first"}},
		{time.Second, []string{"ALERT:first", "ALERT:second"}},
		{2 * time.Second, []string{"ALERT:first", "ALERT:second"}},
		{time.Second, []string{"ALERT:first", "ALERT:second", "CLOSE:bye"}},
	}
	for i, st := range steps {
		tm.clock.Advance(st.advance)
		if got := notices(s); !slices.Equal(got, st.want) {
			t.Fatalf("step %d: notices %q, want %q", i, got, st.want)
		}
	}
	if s.State() != chat.Closed {
		t.Fatal("session still alive after timeout-close")
	}
	evs, _, _ := s.ReadAll(0, nil)
	left := map[string]chat.Event{}
	for _, ev := range evs {
		if ev.Kind == chat.PartyLeft {
			left[ev.From.UserID] = ev
		}
	}
	for _, p := range []chat.Participant{c, a} {
		if ev, ok := left[p.UserID]; !ok || ev.Reason != chat.RemovedIdle {
			t.Errorf("%s: partyLeft %+v, want reason 7", p.Nick, ev)
		}
	}
	if code := left[c.UserID].Attrs.Sub(chat.KeySystem).String("quit-reason-code"); code != "7" {
		t.Errorf("customer quit-reason-code %q, want 7", code)
	}
	// The alerts carry what comes next for the widget.
	var alerts []kv.Map
	for _, ev := range evs {
		if ev.Notice == chat.IdleAlert && ev.Kind == chat.Notice {
			alerts = append(alerts, ev.UserData)
		}
	}
	if alerts[0].String(chat.KeyNextIdleTimerType) != "ALERT" || alerts[0].String(chat.KeyNextIdleTimerSecs) != "5" ||
		alerts[1].String(chat.KeyNextIdleTimerType) != "CLOSE" || alerts[1].String(chat.KeyNextIdleTimerSecs) != "3" {
		t.Errorf("alert user data %v", alerts)
	}
	tm.clock.Advance(time.Hour) // closed-session-grace: the purge is the last deadline
	if tm.engine.PendingDeadlines() != 0 {
		t.Errorf("%d deadlines pending after the close and purge", tm.engine.PendingDeadlines())
	}
}

func TestInactivityNoSecondAlert(t *testing.T) {
	tm := newTimed(t, chain+"timeout-alert2 = 0\n")
	s, _, _ := tm.session(nil, false, true)
	tm.clock.Advance(10 * time.Second)
	tm.clock.Advance(2 * time.Second)
	if got := notices(s); !slices.Equal(got, []string{"ALERT:first"}) || s.State() != chat.Alive {
		t.Fatalf("at 12 s: %q, state %v", got, s.State())
	}
	tm.clock.Advance(time.Second)
	if got := notices(s); !slices.Equal(got, []string{"ALERT:first", "CLOSE:bye"}) || s.State() != chat.Closed {
		t.Fatalf("at 13 s: %q, state %v", got, s.State())
	}
}

// TestActivityResets checks that qualifying events restart the chain from
// timeout-alert, at any stage, and that others do not.
func TestActivityResets(t *testing.T) {
	for _, tc := range []struct {
		name    string
		ini     string
		act     func(s *chat.Session, c, a chat.Participant, bot chat.Participant) error
		resets  bool
		atAlert bool // act after the first alert rather than before it
	}{
		{name: "customer message", act: func(s *chat.Session, c, _, _ chat.Participant) error {
			_, err := s.Send(c.UserID, chat.Msg{Text: "hi"})
			return err
		}, resets: true},
		{name: "agent message after the alert", act: func(s *chat.Session, _, a, _ chat.Participant) error {
			_, err := s.Send(a.UserID, chat.Msg{Text: "hi"})
			return err
		}, resets: true, atAlert: true},
		{name: "coaching (INT) message", act: func(s *chat.Session, _, a, _ chat.Participant) error {
			_, err := s.Send(a.UserID, chat.Msg{Text: "psst", Visibility: chat.VisInt})
			return err
		}},
		{name: "direct message", act: func(s *chat.Session, c, a, _ chat.Participant) error {
			_, err := s.Send(a.UserID, chat.Msg{Text: "psst", ReceiverID: c.UserID})
			return err
		}},
		{name: "bot message", act: func(s *chat.Session, _, _, b chat.Participant) error {
			_, err := s.Send(b.UserID, chat.Msg{Text: "beep"})
			return err
		}},
		{name: "agent join", act: func(s *chat.Session, _, _, _ chat.Participant) error {
			_, _, err := s.Join(chat.JoinRequest{Nick: "Ben", Type: chat.Agent})
			return err
		}, resets: true},
		{name: "protocol request only", act: func(s *chat.Session, c, _, _ chat.Participant) error { return s.Touch(c.UserID) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tm := newTimed(t, chain)
			s, c, a := tm.session(nil, false, true)
			bot, _, err := s.Join(chat.JoinRequest{Nick: "Bot", Type: chat.Agent, UserData: kv.Map{chat.KeySetPartyStyle: "BOT"}})
			if err != nil {
				t.Fatal(err)
			}
			base := []string(nil)
			if tc.atAlert {
				tm.clock.Advance(10 * time.Second)
				base = []string{"ALERT:first"}
			} else {
				tm.clock.Advance(8 * time.Second)
			}
			if err := tc.act(s, c, a, bot); err != nil {
				t.Fatal(err)
			}
			tm.clock.Advance(9 * time.Second) // 9 s after the act: the alert is not yet due if it reset
			got := notices(s)
			if tc.resets && !slices.Equal(got, base) {
				t.Fatalf("notices %q 9 s after a qualifying event, want %q", got, base)
			}
			if !tc.resets && slices.Equal(got, base) {
				t.Fatalf("notices %q: the chain was reset by a non-qualifying event", got)
			}
			if tc.resets {
				tm.clock.Advance(time.Second)
				if got := notices(s); len(got) != len(base)+1 || got[len(got)-1] != "ALERT:first" {
					t.Fatalf("no fresh alert 10 s after the activity: %q", got)
				}
			}
		})
	}
}

// TestIncludeNotices checks which notices count under each include-notices
// value (and async-idle-notices, which shares the meanings).
func TestIncludeNotices(t *testing.T) {
	type note struct {
		name string
		n    chat.Note
	}
	all := []note{
		{"typing started", chat.Note{Type: chat.TypingStarted}},
		{"typing stopped", chat.Note{Type: chat.TypingStopped}},
		{"push URL", chat.Note{Type: chat.PushURL, Text: "https://example.com/"}},
		{"custom", chat.Note{Type: chat.CustomNotice, Text: "x"}},
		{"file uploaded", chat.Note{Type: chat.SysCommand, Text: chat.FileUploadedCommand}},
		{"read confirm", chat.Note{Type: chat.SysCommand, Text: chat.ReadConfirm, UserData: kv.Map{chat.LastEventIDKey: "1"}}},
		{"cancel-idle-timer", chat.Note{Type: chat.CustomNotice, Attrs: kv.Map{"purpose": chat.CancelIdleTimer}}},
	}
	want := map[string][]string{
		"none":   {"cancel-idle-timer"},
		"major":  {"push URL", "file uploaded", "cancel-idle-timer"},
		"major2": {"push URL", "custom", "file uploaded", "cancel-idle-timer"},
		"typing": {"typing started", "push URL", "file uploaded", "cancel-idle-timer"},
		"all":    {"typing started", "typing stopped", "push URL", "custom", "file uploaded", "cancel-idle-timer"},
	}
	for set, counted := range want {
		for _, n := range all {
			t.Run(set+"/"+n.name, func(t *testing.T) {
				tm := newTimed(t, chain+"include-notices = "+set+"\n")
				s, c, _ := tm.session(nil, false, true)
				tm.clock.Advance(8 * time.Second)
				if _, err := s.Notify(c.UserID, n.n); err != nil {
					t.Fatal(err)
				}
				tm.clock.Advance(2 * time.Second)
				alerted := len(notices(s)) > 0
				if counts := slices.Contains(counted, n.name); counts == alerted {
					t.Errorf("include-notices=%s, %s: alerted at 10 s = %v", set, n.name, alerted)
				}
			})
		}
	}
}

// TestInactivityNeedsCustomerAndAgent: no agent, or only a bot, means no
// inactivity control; the last agent leaving switches it off.
func TestInactivityNeedsCustomerAndAgent(t *testing.T) {
	tm := newTimed(t, chain)
	alone, _, _ := tm.session(nil, false, false)
	withBot, _, _ := tm.session(nil, false, false)
	if _, _, err := withBot.Join(chat.JoinRequest{Nick: "Bot", Type: chat.Agent, UserData: kv.Map{chat.KeySetPartyStyle: "BOT"}}); err != nil {
		t.Fatal(err)
	}
	left, _, a := tm.session(nil, false, true)
	tm.clock.Advance(5 * time.Second)
	if _, _, err := left.Leave(chat.LeaveRequest{UserID: a.UserID}); err != nil {
		t.Fatal(err)
	}
	tm.clock.Advance(time.Hour)
	for name, s := range map[string]*chat.Session{"customer alone": alone, "customer and bot": withBot, "agent left": left} {
		if got := notices(s); len(got) != 0 || s.State() != chat.Alive {
			t.Errorf("%s: notices %q, state %v", name, got, s.State())
		}
	}
}

// TestReload: enabling takes effect at the next activity; disabling stops a
// running chain at its next expiry; a changed timeout applies at once to
// the next stage computed.
func TestReload(t *testing.T) {
	tm := newTimed(t, chain+"enabled = false\n")
	s, c, _ := tm.session(nil, false, true)
	tm.reload(chain)
	tm.clock.Advance(time.Minute)
	if got := notices(s); len(got) != 0 {
		t.Fatalf("a running session alerted before any activity after enabling: %q", got)
	}
	if _, err := s.Send(c.UserID, chat.Msg{Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	tm.clock.Advance(10 * time.Second)
	if got := notices(s); len(got) != 1 {
		t.Fatalf("no alert 10 s after activity once enabled: %q", got)
	}
	tm.reload(chain + "timeout-alert2 = 20\n")
	tm.clock.Advance(5 * time.Second) // the old alert2 (5 s) falls due: the new value applies
	if got := notices(s); len(got) != 1 {
		t.Fatalf("second alert after 5 s although timeout-alert2 was reloaded to 20: %q", got)
	}
	tm.clock.Advance(15 * time.Second)
	if got := notices(s); len(got) != 2 {
		t.Fatalf("no second alert 20 s after the first: %q", got)
	}
	tm.reload(chain + "enabled = false\n")
	tm.clock.Advance(time.Hour)
	if got := notices(s); len(got) != 2 || s.State() != chat.Alive {
		t.Fatalf("after disabling: %q, state %v", got, s.State())
	}
}

// TestConfigureIdle covers the workflow's per-session values: they apply
// to that session only, restart its timers, refuse bad values without
// changing anything, and reset-parameters returns to the configuration.
func TestConfigureIdle(t *testing.T) {
	tm := newTimed(t, chain+"enabled = false\n")
	s, _, _ := tm.session(nil, false, true)
	other, _, _ := tm.session(nil, false, true)
	on, alert, text := true, 30*time.Second, "custom alert"
	tm.clock.Advance(20 * time.Second)
	if err := s.ConfigureIdle(chat.IdleOverride{Enabled: &on, TimeoutAlert: &alert, MessageAlert: &text}, false); err != nil {
		t.Fatal(err)
	}
	bad := 90000 * time.Second
	if err := s.ConfigureIdle(chat.IdleOverride{TimeoutAlert: &bad}, false); err == nil {
		t.Fatal("timeout-alert 90000 accepted")
	} else if got := err.Error(); !contains(got, "timeout-alert") || !contains(got, "86400") {
		t.Errorf("error %q does not name the parameter and its range", got)
	}
	badSet := config.NoticeSet("some")
	if err := s.ConfigureIdle(chat.IdleOverride{IncludeNotices: &badSet, Enabled: new(bool)}, true); err == nil {
		t.Fatal("include-notices=some accepted")
	}
	if got := s.IdleControl(); got.TimeoutAlert == nil || *got.TimeoutAlert != alert || !*got.Enabled {
		t.Fatalf("a refused request changed the values: %+v", got)
	}
	tm.clock.Advance(29 * time.Second)
	if len(notices(s)) != 0 {
		t.Fatal("alerted before the workflow's timeout")
	}
	tm.clock.Advance(time.Second)
	if got := notices(s); !slices.Equal(got, []string{"ALERT:custom alert"}) {
		t.Fatalf("notices %q, want the workflow's alert at its 30 s", got)
	}
	if got := notices(other); len(got) != 0 {
		t.Errorf("the other session alerted: %q", got)
	}
	if err := s.ConfigureIdle(chat.IdleOverride{}, true); err != nil {
		t.Fatal(err)
	}
	if got := s.IdleControl(); got.Enabled != nil || got.TimeoutAlert != nil {
		t.Fatalf("reset-parameters kept %+v", got)
	}
	tm.clock.Advance(time.Hour)
	if got := notices(s); len(got) != 1 {
		t.Fatalf("after reset to the configuration (disabled): %q", got)
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

const asyncINI = `
[settings]
async-idle-alert = 100
async-idle-close = 50
flex-disconnect-timeout = 45
flex-push-timeout = 300
[inactivity-control]
message-alert = still there?
message-close = closed for inactivity
`

// TestAsyncIdle: an async session with only a customer (push data, so no
// 45 s removal) gets the alert with GCTI_Chat_AsyncCheckAt, then the close;
// a customer message in between restarts it; ConfigureSession's
// async-idle-reset restarts it too.
func TestAsyncIdle(t *testing.T) {
	tm := newTimed(t, asyncINI)
	push := kv.Map{chat.KeyPushDeviceID: "dev-1", chat.KeyPushType: "customhttp"}
	s, c, _ := tm.session(push, true, false)
	tm.clock.Advance(60 * time.Second)
	if _, err := s.Send(c.UserID, chat.Msg{Text: "later"}); err != nil {
		t.Fatal(err)
	}
	tm.clock.Advance(99 * time.Second)
	if got := notices(s); len(got) != 0 {
		t.Fatalf("alert before async-idle-alert after the message: %q", got)
	}
	if err := s.ResetAsyncIdle(); err != nil {
		t.Fatal(err)
	}
	tm.clock.Advance(99 * time.Second)
	if got := notices(s); len(got) != 0 {
		t.Fatalf("alert before async-idle-alert after async-idle-reset: %q", got)
	}
	tm.clock.Advance(time.Second)
	alertAt := tm.clock.Now()
	if got := notices(s); !slices.Equal(got, []string{"ALERT:still there?"}) {
		t.Fatalf("notices %q, want the async alert", got)
	}
	evs, _, _ := s.ReadAll(0, nil)
	alert := evs[len(evs)-1]
	if want := strconv.FormatInt(alertAt.Add(50*time.Second).Unix(), 10); alert.UserData.String(chat.KeyAsyncCheckAt) != want {
		t.Errorf("GCTI_Chat_AsyncCheckAt %q, want %s (when the close is due)", alert.UserData.String(chat.KeyAsyncCheckAt), want)
	}
	if s.State() != chat.Alive {
		t.Fatal("closed at the alert")
	}
	tm.clock.Advance(50 * time.Second)
	if got := notices(s); !slices.Equal(got, []string{"ALERT:still there?", "CLOSE:closed for inactivity"}) || s.State() != chat.Closed {
		t.Fatalf("notices %q, state %v; want the close", got, s.State())
	}
	evs, _, _ = s.ReadAll(0, nil)
	if last := evs[len(evs)-1]; last.Kind != chat.PartyLeft || last.Reason != chat.RemovedIdle {
		t.Fatalf("last event %+v, want the customer leaving with reason 7", last)
	}
}

// TestFlexPushVersusDisconnect: a plain customer is removed after
// flex-disconnect-timeout; a push-subscribed one is pinged after
// flex-push-timeout, and removed only after another flex-push-timeout and
// then flex-disconnect-timeout without a request; a request after the ping
// starts over.
func TestFlexPushVersusDisconnect(t *testing.T) {
	const ini = "[settings]\nflex-disconnect-timeout = 45\nflex-push-timeout = 300\nflex-push-on-join = true\nasync-idle-alert = 1728000\n"
	present := func(s *chat.Session, id string) bool {
		p, _ := s.Participant(id)
		return !p.Left
	}
	t.Run("disconnect", func(t *testing.T) {
		tm := newTimed(t, ini)
		s, c, _ := tm.session(nil, false, true)
		tm.clock.Advance(44 * time.Second)
		if !present(s, c.UserID) {
			t.Fatal("removed early")
		}
		tm.clock.Advance(time.Second)
		if present(s, c.UserID) {
			t.Fatal("not removed after flex-disconnect-timeout")
		}
		evs, _, _ := s.ReadAll(0, nil)
		if last := evs[len(evs)-1]; last.Reason != chat.LeftDisconnect || last.Attrs.Sub(chat.KeySystem).String("quit-reason-code") != "3" {
			t.Fatalf("departure %+v, want reason and quit code 3", last)
		}
	})
	for name, tc := range map[string]struct {
		ud    kv.Map
		async bool
	}{
		"subscribed on join": {ud: kv.Map{chat.KeyPushSubscribe: "true"}},
		"async with push":    {ud: kv.Map{chat.KeyGMSPushDeviceID: "d1"}, async: true},
	} {
		t.Run(name, func(t *testing.T) {
			tm := newTimed(t, ini)
			s, c, _ := tm.session(tc.ud, tc.async, true)
			tm.clock.Advance(299 * time.Second)
			if tm.pings.count() != 0 || !present(s, c.UserID) {
				t.Fatal("pinged or removed before flex-push-timeout")
			}
			tm.clock.Advance(time.Second)
			if tm.pings.count() != 1 {
				t.Fatalf("%d pings at flex-push-timeout, want 1", tm.pings.count())
			}
			// A request after the ping: the period starts over.
			tm.clock.Advance(100 * time.Second)
			if err := s.Touch(c.UserID); err != nil {
				t.Fatal(err)
			}
			tm.clock.Advance(299 * time.Second)
			if tm.pings.count() != 1 {
				t.Fatal("pinged again before a whole period after the request")
			}
			tm.clock.Advance(time.Second)
			if tm.pings.count() != 2 {
				t.Fatal("no second ping")
			}
			tm.clock.Advance(300*time.Second + 44*time.Second)
			if !present(s, c.UserID) {
				t.Fatal("removed before flex-push-timeout + flex-disconnect-timeout after the ping")
			}
			tm.clock.Advance(time.Second)
			if present(s, c.UserID) {
				t.Fatal("still present after flex-push-timeout + flex-disconnect-timeout without a request")
			}
		})
	}
	t.Run("subscription without flex-push-on-join", func(t *testing.T) {
		tm := newTimed(t, "[settings]\nflex-disconnect-timeout = 45\n")
		s, c, _ := tm.session(kv.Map{chat.KeyPushSubscribe: "true"}, false, true)
		tm.clock.Advance(45 * time.Second)
		if present(s, c.UserID) {
			t.Fatal("flex-push-timeout applied although flex-push-on-join is off")
		}
	})
	t.Run("held", func(t *testing.T) {
		tm := newTimed(t, ini)
		s, c, _ := tm.session(nil, false, true)
		release := s.Hold(c.UserID)
		tm.clock.Advance(10 * time.Minute)
		if !present(s, c.UserID) {
			t.Fatal("removed while held")
		}
		release()
		tm.clock.Advance(44 * time.Second)
		if !present(s, c.UserID) {
			t.Fatal("removed less than the timeout after the hold ended")
		}
		tm.clock.Advance(time.Second)
		if present(s, c.UserID) {
			t.Fatal("not removed a timeout after the hold ended")
		}
	})
}

// TestOneDeadlinePerSession: many sessions with several duties each hold
// one deadline apiece, on one clock timer.
func TestOneDeadlinePerSession(t *testing.T) {
	tm := newTimed(t, chain)
	for range 50 {
		s, c, _ := tm.session(kv.Map{chat.KeyPushDeviceID: "d", chat.KeyPushType: "t"}, true, true)
		s.Send(c.UserID, chat.Msg{Text: "x"})
	}
	if n := tm.engine.PendingDeadlines(); n != 50 {
		t.Errorf("%d deadlines pending for 50 sessions", n)
	}
	if n := tm.clock.Pending(); n != 1 {
		t.Errorf("%d clock timers pending, want 1", n)
	}
}

const langINI = chain + `
[language:french]
language = fr
message-alert = Êtes-vous là ?
[language:french-canada]
language = fr
country = CA
message-alert = Toujours là ?
`

// TestLanguage: the session's language from its data picks the texts; an
// unknown name falls back to the defaults with a warning naming the
// session and the name; SelectLanguage and the configure-session notice
// change it.
func TestLanguage(t *testing.T) {
	tm := newTimed(t, langINI)
	for _, tc := range []struct {
		ud   kv.Map
		want string
	}{
		{kv.Map{"GCTI_LanguageCode": "fr-CA"}, "ALERT:Toujours là ?"},
		{kv.Map{"GCTI_LanguageCode": "fr-BE"}, "ALERT:Êtes-vous là ?"},
		{kv.Map{"GCTI_LanguageName": "french", "GCTI_LanguageCode": "fr-CA"}, "ALERT:Êtes-vous là ?"},
		{kv.Map{"GCTI_LanguageName": "klingon"}, "ALERT:first"},
		{nil, "ALERT:first"},
	} {
		s, _, _ := tm.session(tc.ud, false, true)
		tm.clock.Advance(10 * time.Second)
		if got := notices(s); len(got) != 1 || got[0] != tc.want {
			t.Errorf("user data %v: %q, want %q", tc.ud, got, tc.want)
		}
		if tc.ud.String("GCTI_LanguageName") == "klingon" {
			tm.mu.Lock()
			w := slices.Clone(tm.warns)
			tm.mu.Unlock()
			if len(w) != 1 || !contains(w[0], s.ID()) || !contains(w[0], "klingon") {
				t.Errorf("warnings %q, want one naming session %s and klingon", w, s.ID())
			}
		}
	}
	s, c, _ := tm.session(nil, false, true)
	if name, err := s.SelectLanguage("", "fr_CA"); err != nil || name != "french-canada" {
		t.Fatalf("SelectLanguage = %q, %v", name, err)
	}
	if s.Info().Language != "french-canada" {
		t.Fatal("language not recorded on the session")
	}
	if _, err := s.Notify(c.UserID, chat.Note{Type: chat.SysCommand, Text: chat.ConfigureSessionCommand, UserData: kv.Map{"GCTI_LanguageName": "french"}}); err != nil {
		t.Fatal(err)
	}
	if s.Info().Language != "french" {
		t.Fatalf("configure-session notice: language %q, want french", s.Info().Language)
	}
	tm.clock.Advance(10 * time.Second)
	if got := notices(s); len(got) != 1 || got[0] != "ALERT:Êtes-vous là ?" {
		t.Errorf("after the changes: %q", got)
	}
}

// TestPurgeOnScheduler: with timers on, a closed session's purge after
// closed-session-grace is its one deadline on the node's scheduler (no
// clock timer of its own).
func TestPurgeOnScheduler(t *testing.T) {
	tm := newTimed(t, chain)
	s, _, a := tm.session(nil, false, true)
	if _, closed, err := s.Leave(chat.LeaveRequest{UserID: a.UserID, After: chat.ForceClose}); err != nil || !closed {
		t.Fatalf("force close: %v, %v", closed, err)
	}
	if n := tm.clock.Pending(); n != 1 {
		t.Errorf("%d clock timers pending, want the scheduler's one", n)
	}
	if tm.engine.PendingDeadlines() != 1 {
		t.Errorf("%d deadlines pending, want the purge", tm.engine.PendingDeadlines())
	}
	tm.clock.Advance(time.Hour - time.Second) // the engine's ClosedGrace is an hour
	if _, err := tm.engine.Get(s.ID()); err != nil {
		t.Fatal("purged before closed-session-grace")
	}
	tm.clock.Advance(time.Second)
	if _, err := tm.engine.Get(s.ID()); err == nil {
		t.Fatal("not purged after closed-session-grace")
	}
}

// TestRestoredSessionTimed: a session rebuilt from its stored transcript
// times its customer and its inactivity again, from the restoration.
func TestRestoredSessionTimed(t *testing.T) {
	tm := newTimed(t, chain)
	s, c, _ := tm.session(nil, false, true)
	evs, _, _ := s.ReadAll(0, nil)
	other := newTimed(t, chain)
	other.clock.Advance(time.Minute)
	r, _, err := other.engine.Restore(chat.RestoreRequest{ID: s.ID(), CreatedAt: s.CreatedAt(), Events: evs,
		Keep: func(*chat.Participant) bool { return true }})
	if err != nil {
		t.Fatal(err)
	}
	other.clock.Advance(9 * time.Second)
	if len(notices(r)) != 0 {
		t.Fatal("alerted before timeout-alert counted from the restoration")
	}
	other.clock.Advance(time.Second)
	if got := notices(r); !slices.Equal(got, []string{"ALERT:first"}) {
		t.Fatalf("restored session: notices %q, want the alert 10 s after the restoration", got)
	}
	if r.Held(c.UserID) != 0 {
		t.Errorf("restored customer not timed: Held = %d", r.Held(c.UserID))
	}
}

// TestLanguageCodeWithoutLanguages: with no [language:<name>] sections a
// widget's GCTI_LanguageCode is no cause for a warning; an unknown name is.
func TestLanguageCodeWithoutLanguages(t *testing.T) {
	tm := newTimed(t, chain)
	tm.session(kv.Map{"GCTI_LanguageCode": "en"}, false, false)
	tm.mu.Lock()
	n := len(tm.warns)
	tm.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d warnings for a language code with no languages configured", n)
	}
	s, _, _ := tm.session(kv.Map{"GCTI_LanguageName": "english"}, false, false)
	tm.mu.Lock()
	defer tm.mu.Unlock()
	if len(tm.warns) != 1 || !contains(tm.warns[0], s.ID()) || !contains(tm.warns[0], "english") {
		t.Fatalf("warnings %q, want one naming %s and english", tm.warns, s.ID())
	}
}
