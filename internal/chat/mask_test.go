package chat_test

import (
	"strings"
	"testing"
	"time"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/kv"
	"github.com/confab/confab/internal/pii"
)

const (
	card       = "4111 1111 1111 1111"
	maskedCard = "**** **** **** ****"
)

func policy(t testing.TB, area pii.Area, mod func(*pii.Policy)) *pii.Policy {
	t.Helper()
	// A generous search bound: the rules' own 50 ms one is wall-clock time,
	// and a test under -race on a loaded machine can exceed it and then
	// see nothing masked (pii.ErrTimeout).
	rules, err := pii.Compile(pii.Defaults(), pii.Options{DefaultSpec: pii.Spec{Digits: true}, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	p := &pii.Policy{Rules: rules, Area: area, RepChar: '*'}
	if mod != nil {
		mod(p)
	}
	return p
}

// cardSeen reads the transcript as viewer and returns, for every message
// that carried the card, whether it came clear (true) or masked (false).
func cardSeen(f *fixture, viewer string) []bool {
	f.t.Helper()
	var out []bool
	for _, ev := range f.read(viewer) {
		if ev.Kind != chat.Message {
			continue
		}
		switch {
		case strings.Contains(ev.Text, card):
			if ev.Attrs.Sub(chat.KeySystem).Sub("pii-cleanup") != nil {
				f.t.Errorf("%s got a clear copy with pii-cleanup attributes: %v", viewer, ev.Attrs)
			}
			out = append(out, true)
		case strings.Contains(ev.Text, maskedCard):
			if ev.Attrs.Sub(chat.KeySystem).Sub("pii-cleanup") == nil {
				f.t.Errorf("%s got a masked copy without pii-cleanup attributes: %v", viewer, ev.Attrs)
			}
			out = append(out, false)
		default:
			f.t.Fatalf("%s: message %q carries neither copy", viewer, ev.Text)
		}
	}
	return out
}

func same(a, b []bool) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestUnmaskLiveDialog is the reference's five-step example, with a coach
// (INT) and a monitor (VIP) who never see the number unmasked, and the
// stored copies that stay masked.
func TestUnmaskLiveDialog(t *testing.T) {
	f := newFixture(t, chat.Settings{})
	f.engine.SetMasking(policy(t, pii.Always, func(p *pii.Policy) { p.UnmaskLive = true }))
	sendCard := func() {
		t.Helper()
		if _, err := f.s.Send(f.client.UserID, chat.Msg{Text: "my card is " + card}); err != nil {
			t.Fatal(err)
		}
	}
	check := func(step string, who chat.Participant, want ...bool) {
		t.Helper()
		if got := cardSeen(f, who.UserID); !same(got, want) {
			t.Errorf("step %s: %s sees %v, want %v (true = unmasked)", step, who.Nick, got, want)
		}
	}
	coach := f.join("coach", chat.Supervisor, chat.VisInt, nil)
	monitor := f.join("monitor", chat.Supervisor, chat.VisVIP, nil)

	// 1. The customer sends the number before any agent is there: masked.
	sendCard()
	check("1", f.client, false)
	// 2. An agent joins and sees it masked from the start.
	a1 := f.join("agent1", chat.Agent, chat.VisAll, nil)
	check("2", a1, false)
	// 3. The customer sends it again: agent and customer see it.
	sendCard()
	check("3", a1, false, true)
	check("3", f.client, false, true)
	// 4. A second agent joins for a conference: everything masked for it.
	a2 := f.join("agent2", chat.Agent, chat.VisAll, nil)
	check("4", a2, false, false)
	// 5. Sent again: both agents and the customer see it.
	sendCard()
	check("5", a1, false, true, true)
	check("5", a2, false, false, true)
	check("5", f.client, false, true, true)
	// Coaching and monitoring never see it unmasked.
	check("coach", coach, false, false, false)
	check("monitor", monitor, false, false, false)

	// The stored copies and the final record stay masked.
	evs, _, _ := f.s.ReadAll(0, nil)
	for _, ev := range evs {
		if ev.Kind != chat.Message {
			continue
		}
		for _, final := range []bool{false, true} {
			if st := ev.ForStore(final); strings.Contains(st.Text, card) || !strings.Contains(st.Text, maskedCard) {
				t.Errorf("stored copy (final=%v) of %q is %q", final, ev.Text, st.Text)
			}
		}
		if clear, ok := ev.Masked(); !ok || !strings.Contains(clear, card) {
			t.Errorf("event %d lost its text as sent: %q %v", ev.Pos, clear, ok)
		}
	}
	// Turning unmasking off takes effect for what is read next.
	f.engine.SetMasking(policy(t, pii.Always, nil))
	check("off", a1, false, false, false)
}

// Without unmask-live-dialog nobody sees the number under always; with
// allow-bot-unmask a bot present at sending sees it, the customer does not.
func TestAllowBotUnmask(t *testing.T) {
	f := newFixture(t, chat.Settings{})
	f.engine.SetMasking(policy(t, pii.Always, func(p *pii.Policy) { p.AllowBotUnmask = true }))
	bot := f.join("bot", chat.Agent, chat.VisAll, kv.Map{chat.KeySetPartyStyle: "BOT"})
	agent := f.join("agent", chat.Agent, chat.VisAll, nil)
	if _, err := f.s.Send(f.client.UserID, chat.Msg{Text: card}); err != nil {
		t.Fatal(err)
	}
	if got := cardSeen(f, bot.UserID); !same(got, []bool{true}) {
		t.Errorf("bot sees %v", got)
	}
	for _, p := range []chat.Participant{agent, f.client} {
		if got := cardSeen(f, p.UserID); !same(got, []bool{false}) {
			t.Errorf("%s sees %v", p.Nick, got)
		}
	}
	// Bots are not active agents when allow-bot-unmask is off.
	f.engine.SetMasking(policy(t, pii.Always, func(p *pii.Policy) { p.UnmaskLive = true }))
	agent2 := f.join("agent2", chat.Agent, chat.VisAll, nil)
	f.s.Leave(chat.LeaveRequest{UserID: agent.UserID})
	f.s.Leave(chat.LeaveRequest{UserID: agent2.UserID})
	if _, err := f.s.Send(f.client.UserID, chat.Msg{Text: card}); err != nil {
		t.Fatal(err)
	}
	if got := cardSeen(f, f.client.UserID); !same(got, []bool{false, false}) {
		t.Errorf("with only a bot present the customer sees %v", got)
	}
}

// Under each apply-area the live copy, the intermediate stored copy and
// the final stored copy are masked as the reference's table says.
func TestApplyAreaCopies(t *testing.T) {
	for _, tt := range []struct {
		area                      pii.Area
		live, intermediate, final bool
	}{
		{pii.Always, true, true, true},
		{pii.HistoryAll, false, true, true},
		{pii.HistoryFinal, false, false, true},
		{pii.Never, false, false, false},
	} {
		f := newFixture(t, chat.Settings{})
		f.engine.SetMasking(policy(t, tt.area, nil))
		agent := f.join("agent", chat.Agent, chat.VisAll, nil)
		if _, err := f.s.Send(f.client.UserID, chat.Msg{Text: "card " + card, Attrs: kv.Map{"k": "v"}}); err != nil {
			t.Fatal(err)
		}
		for _, who := range []string{f.client.UserID, agent.UserID} {
			if got := cardSeen(f, who); !same(got, []bool{!tt.live}) {
				t.Errorf("%s: live copy for %s unmasked=%v", tt.area, who, got)
			}
		}
		evs, _, _ := f.s.ReadAll(0, nil)
		ev := evs[len(evs)-1]
		for _, c := range []struct {
			final bool
			want  bool
		}{{false, tt.intermediate}, {true, tt.final}} {
			st := ev.ForStore(c.final)
			if got := strings.Contains(st.Text, maskedCard); got != c.want {
				t.Errorf("%s: stored (final=%v) %q", tt.area, c.final, st.Text)
			}
			if st.Attrs.String("k") != "v" {
				t.Errorf("%s: the message's own attributes were lost: %v", tt.area, st.Attrs)
			}
		}
	}
}

// The pii-cleanup attributes have the reference's shape.
func TestCleanupAttributes(t *testing.T) {
	f := newFixture(t, chat.Settings{})
	f.engine.SetMasking(policy(t, pii.Always, nil))
	if _, err := f.s.Send(f.client.UserID, chat.Msg{Text: "a 4111111111111111 b 123-45-6789"}); err != nil {
		t.Fatal(err)
	}
	evs := f.read(f.client.UserID)
	ev := evs[len(evs)-1]
	got := ev.Attrs.Sub(chat.KeySystem).Sub("pii-cleanup")
	want := kv.Map{
		"rule-0001": kv.Map{"id": "1", "name": "GCTI_CreditCards", "description": "Credit card",
			"positions": kv.Map{"2-17": kv.Map{"replaced": "digits"}}},
		"rule-0002": kv.Map{"id": "2", "name": "GCTI_SSN", "description": "Social Security number",
			"positions": kv.Map{"21-31": kv.Map{"replaced": "digits"}}},
	}
	if !kv.Equal(got, want) || ev.Text != "a **************** b ***-**-****" {
		t.Fatalf("text %q attrs %v", ev.Text, got)
	}
}

func TestTypingPreview(t *testing.T) {
	for _, tt := range []struct {
		mode       pii.Typing
		text, data bool
	}{
		{pii.TypingNone, false, false}, {pii.TypingMessage, true, false},
		{pii.TypingNotice, false, true}, {pii.TypingAny, true, true},
	} {
		f := newFixture(t, chat.Settings{})
		// Typing previews are masked whatever apply-area says.
		f.engine.SetMasking(policy(t, pii.Never, func(p *pii.Policy) { p.Typing = tt.mode; p.RepChar = '#' }))
		agent := f.join("agent", chat.Agent, chat.VisAll, nil)
		if _, err := f.s.Notify(f.client.UserID, chat.Note{Type: chat.TypingStarted, Text: "my pin 1234", UserData: kv.Map{"n": "56"}}); err != nil {
			t.Fatal(err)
		}
		evs := f.read(agent.UserID)
		ev := evs[len(evs)-1]
		if got := ev.Text == "my pin ####"; got != tt.text {
			t.Errorf("%d: preview %q", tt.mode, ev.Text)
		}
		if got := ev.UserData.String("n") == "##"; got != tt.data {
			t.Errorf("%d: notice data %v", tt.mode, ev.UserData)
		}
	}
}

func TestCleanSubject(t *testing.T) {
	for _, tt := range []struct {
		mode                 pii.Subject
		interaction, history bool
	}{
		{pii.SubjectNever, false, false}, {pii.SubjectHistory, false, true},
		{pii.SubjectInteraction, true, false}, {pii.SubjectBoth, true, true},
	} {
		e := chat.New(chat.Options{Clock: clock.NewFake(t0)})
		e.SetMasking(policy(t, pii.HistoryFinal, func(p *pii.Policy) { p.Subject = tt.mode }))
		s, _, _, err := e.Create(chat.CreateRequest{Subject: "refund to 4111111111111111", Creator: chat.JoinRequest{Type: chat.Client}})
		if err != nil {
			t.Fatal(err)
		}
		info := s.Info()
		if got := strings.Contains(info.Subject, "****"); got != tt.interaction {
			t.Errorf("%d: interaction subject %q", tt.mode, info.Subject)
		}
		if got := strings.Contains(info.HistorySubject, "****"); got != tt.history {
			t.Errorf("%d: history subject %q", tt.mode, info.HistorySubject)
		}
	}
}

// A message that matches no rule costs the message path no allocation for
// masking.
func TestNoMatchAddsNoAllocation(t *testing.T) {
	measure := func(p *pii.Policy) float64 {
		e := chat.New(chat.Options{Clock: clock.Real(), Settings: chat.Settings{SessionLimit: 1 << 20, ClosedGrace: time.Minute}})
		e.SetMasking(p)
		s, c, _, _ := e.Create(chat.CreateRequest{Creator: chat.JoinRequest{Type: chat.Client}})
		msg := chat.Msg{Text: "Hello, my order 12345 from 12/01 has not arrived yet."}
		return testing.AllocsPerRun(200, func() {
			if _, err := s.Send(c.UserID, msg); err != nil {
				t.Fatal(err)
			}
		})
	}
	off, on := measure(nil), measure(policy(t, pii.Always, nil))
	if on > off {
		t.Fatalf("masking on adds allocations to an unmatched message: %v > %v", on, off)
	}
}

// BenchmarkSendMasking is BenchmarkSend's message with the default rules
// on (apply-area=always) and off.
func BenchmarkSendMasking(b *testing.B) {
	for _, c := range []struct {
		name string
		pol  *pii.Policy
		text string
	}{
		{"off", nil, "Hello, my order 12345 from 12/01 has not arrived yet."},
		{"on-nomatch", policy(b, pii.Always, nil), "Hello, my order 12345 from 12/01 has not arrived yet."},
		{"on-card", policy(b, pii.Always, nil), "Here it is: " + card},
	} {
		b.Run(c.name, func(b *testing.B) {
			e := chat.New(chat.Options{Clock: clock.Real(), Settings: chat.Settings{SessionLimit: 1 << 30, ClosedGrace: time.Minute}})
			e.SetMasking(c.pol)
			var s *chat.Session
			var client chat.Participant
			msg := chat.Msg{Text: c.text}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if i%256 == 0 {
					b.StopTimer()
					s, client, _, _ = e.Create(chat.CreateRequest{Creator: chat.JoinRequest{Type: chat.Client}})
					s.Join(chat.JoinRequest{Nick: "a", Type: chat.Agent})
					b.StartTimer()
				}
				if _, err := s.Send(client.UserID, msg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// A session restored from an intermediate transcript that kept the text as
// sent (history-final) still stores its final transcript masked; under
// always the restored live copy is masked too.
func TestRestoredMessagesMasked(t *testing.T) {
	for _, tt := range []struct {
		area      pii.Area
		liveClear bool
	}{{pii.HistoryFinal, true}, {pii.Always, false}} {
		e := chat.New(chat.Options{Clock: clock.NewFake(t0)})
		e.SetMasking(policy(t, tt.area, nil))
		from := chat.Party{UserID: "c1", Num: 1, Nick: "Kim", Type: chat.Client}
		s, _, err := e.Restore(chat.RestoreRequest{ID: "r1", CreatedAt: t0, Events: []chat.Event{
			{Pos: 0, Kind: chat.NewParty, From: from, Time: t0},
			{Pos: 1, Kind: chat.Message, From: from, Time: t0, Text: "card " + card},
		}})
		if err != nil {
			t.Fatal(err)
		}
		evs, _, _ := s.ReadAll(0, nil)
		msg := evs[1]
		if got := strings.Contains(msg.Text, card); got != tt.liveClear {
			t.Errorf("%s: restored live copy %q", tt.area, msg.Text)
		}
		if st := msg.ForStore(true); !strings.Contains(st.Text, maskedCard) {
			t.Errorf("%s: final stored copy of a restored message %q", tt.area, st.Text)
		}
	}
}
