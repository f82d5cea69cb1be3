package chat_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/kv"
)

var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// fixture is a session with a customer, created on an engine with a fake clock.
type fixture struct {
	t      *testing.T
	clock  *clock.Fake
	engine *chat.Engine
	s      *chat.Session
	client chat.Participant
}

func newFixture(t *testing.T, st chat.Settings) *fixture {
	t.Helper()
	c := clock.NewFake(t0)
	if st == (chat.Settings{}) {
		st = chat.DefaultSettings
	}
	e := chat.New(chat.Options{Clock: c, Settings: st})
	s, client, _, err := e.Create(chat.CreateRequest{
		Tenant: "1", Endpoint: "default", Queue: "default",
		UserData: kv.Map{"EmailAddress": "jdoe@example.com"},
		Creator:  chat.JoinRequest{Nick: "John", Type: chat.Client, Protocol: chat.Flex},
	})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	return &fixture{t: t, clock: c, engine: e, s: s, client: client}
}

func (f *fixture) join(nick string, typ chat.UserType, vis chat.Visibility, ud kv.Map) chat.Participant {
	f.t.Helper()
	p, _, err := f.s.Join(chat.JoinRequest{Nick: nick, Type: typ, Visibility: vis, Protocol: chat.Basic, UserData: ud})
	if err != nil {
		f.t.Fatalf("Join %s: %v", nick, err)
	}
	return p
}

func (f *fixture) read(userID string) []chat.Event {
	f.t.Helper()
	evs, _, _, err := f.s.Read(userID, 0, nil)
	if err != nil {
		f.t.Fatalf("Read as %s: %v", userID, err)
	}
	return evs
}

func texts(evs []chat.Event) []string {
	var out []string
	for _, ev := range evs {
		if ev.Kind == chat.Message {
			out = append(out, ev.Text)
		}
	}
	return out
}

// TestVisibilityMatrix sends a message from every sender type with every
// allowed visibility, public and direct to every receiver type, and checks
// what every viewer type sees.
func TestVisibilityMatrix(t *testing.T) {
	types := []chat.UserType{chat.Client, chat.Agent, chat.Supervisor}
	visibilities := []chat.Visibility{chat.VisAll, chat.VisInt, chat.VisVIP}
	for _, sender := range types {
		for _, vis := range visibilities {
			for _, receiver := range append([]chat.UserType{255}, types...) { // 255: no receiver
				name := fmt.Sprintf("%s/%s/to-%v", sender, vis, receiver)
				t.Run(name, func(t *testing.T) {
					f := newFixture(t, chat.Settings{})
					parties := map[chat.UserType]chat.Participant{
						chat.Client:     f.client,
						chat.Agent:      f.join("Anna", chat.Agent, chat.VisAll, nil),
						chat.Supervisor: f.join("Sam", chat.Supervisor, chat.VisAll, nil),
					}
					// A second party of each type, the viewers that are neither sender nor receiver.
					others := map[chat.UserType]chat.Participant{
						chat.Agent:      f.join("Bob", chat.Agent, chat.VisAll, nil),
						chat.Supervisor: f.join("Sue", chat.Supervisor, chat.VisAll, nil),
					}
					from := parties[sender]
					var receiverID string
					if receiver != 255 {
						receiverID = parties[receiver].UserID
						if receiver == sender {
							receiverID = others[receiver].UserID
							if sender == chat.Client {
								t.Skip("only one customer in a session")
							}
						}
					}
					_, err := f.s.Send(from.UserID, chat.Msg{Text: "m", Visibility: vis, ReceiverID: receiverID})
					allowed := vis == chat.VisAll || (vis == chat.VisInt && sender != chat.Client) || (vis == chat.VisVIP && sender == chat.Supervisor)
					if !allowed {
						if !errors.Is(err, chat.ErrVisibility) {
							t.Fatalf("Send with %s by %s: err = %v, want ErrVisibility", vis, sender, err)
						}
						return
					}
					if err != nil {
						t.Fatalf("Send: %v", err)
					}
					check := func(viewer chat.Participant) {
						got := len(texts(f.read(viewer.UserID))) == 1
						want := expectVisible(viewer, from, receiverID, vis)
						if got != want {
							t.Errorf("viewer %s (%s): sees=%v, want %v", viewer.Nick, viewer.Type, got, want)
						}
					}
					for _, p := range parties {
						check(p)
					}
					for _, p := range others {
						check(p)
					}
				})
			}
		}
	}
}

// expectVisible states the rules independently of the engine's code.
func expectVisible(viewer, from chat.Participant, receiverID string, vis chat.Visibility) bool {
	if viewer.UserID == from.UserID {
		return true
	}
	switch viewer.Type {
	case chat.Client:
		if vis != chat.VisAll {
			return false
		}
	case chat.Agent:
		if vis == chat.VisVIP {
			return false
		}
	}
	if receiverID != "" {
		return viewer.UserID == receiverID || viewer.Type == chat.Supervisor
	}
	return true
}

func TestJoinVisibilityHidesSilentParties(t *testing.T) {
	f := newFixture(t, chat.Settings{})
	agent := f.join("Anna", chat.Agent, chat.VisAll, nil)
	coach := f.join("Coach", chat.Agent, chat.VisInt, nil)
	monitor := f.join("Boss", chat.Supervisor, chat.VisVIP, nil)
	joined := func(viewer string) string {
		var out []string
		for _, ev := range f.read(viewer) {
			if ev.Kind == chat.NewParty {
				out = append(out, ev.From.Nick)
			}
		}
		return fmt.Sprint(out)
	}
	for _, tt := range []struct {
		viewer chat.Participant
		want   string
	}{
		{f.client, "[John Anna]"},
		{agent, "[John Anna Coach]"},
		{coach, "[John Anna Coach]"},
		{monitor, "[John Anna Coach Boss]"},
	} {
		if got := joined(tt.viewer.UserID); got != tt.want {
			t.Errorf("%s sees joins %s, want %s", tt.viewer.Nick, got, tt.want)
		}
	}
}

func TestAfterActions(t *testing.T) {
	tests := []struct {
		name       string
		withBot    bool
		withAgent2 bool
		leaver     string // "agent" or "client"
		after      chat.AfterAction
		wantClosed bool
		wantReason chat.LeaveReason // on the leaver's partyLeft
	}{
		{"keep alive leaves session open", false, false, "agent", chat.KeepAlive, false, chat.LeftNormally},
		{"close if no agents closes", false, false, "agent", chat.CloseIfNoAgents, true, chat.LeftCloseIfNone},
		{"close if no agents ignores bots", true, false, "agent", chat.CloseIfNoAgents, true, chat.LeftCloseIfNone},
		{"close if no agents keeps with second agent", false, true, "agent", chat.CloseIfNoAgents, false, chat.LeftCloseIfNone},
		{"force close closes with second agent and bot", true, true, "agent", chat.ForceClose, true, chat.LeftForceClose},
		{"customer keep alive leaves agents", false, false, "client", chat.KeepAlive, false, chat.LeftNormally},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, chat.Settings{})
			agent := f.join("Anna", chat.Agent, chat.VisAll, nil)
			present := []chat.Participant{f.client}
			if tt.withBot {
				bot := f.join("Bot", chat.Agent, chat.VisAll, kv.Map{"GCTI_Chat_SetPartyStyle": "BOT"})
				if !bot.Bot {
					t.Fatal("GCTI_Chat_SetPartyStyle=BOT did not mark the party as a bot")
				}
				present = append(present, bot)
			}
			if tt.withAgent2 {
				present = append(present, f.join("Bob", chat.Agent, chat.VisAll, nil))
			}
			leaver := agent
			if tt.leaver == "client" {
				leaver = f.client
				present = append(present[1:], agent)
			}
			_, closed, err := f.s.Leave(chat.LeaveRequest{UserID: leaver.UserID, After: tt.after})
			if err != nil {
				t.Fatalf("Leave: %v", err)
			}
			if closed != tt.wantClosed || (f.s.State() == chat.Closed) != tt.wantClosed {
				t.Fatalf("closed = %v, state %v; want closed %v", closed, f.s.State(), tt.wantClosed)
			}
			evs, _, _ := f.s.ReadAll(0, nil)
			left := map[string]chat.Event{}
			for _, ev := range evs {
				if ev.Kind == chat.PartyLeft {
					left[ev.From.UserID] = ev
				}
			}
			if ev, ok := left[leaver.UserID]; !ok || ev.Reason != tt.wantReason {
				t.Fatalf("leaver's partyLeft = %+v (found %v), want reason %d", ev, ok, tt.wantReason)
			}
			for _, p := range present {
				ev, ok := left[p.UserID]
				if tt.wantClosed {
					if !ok || ev.Reason != chat.RemovedByParty || ev.AskerID != leaver.UserID {
						t.Errorf("%s: partyLeft %+v (found %v), want reason 4 asked by the leaver", p.Nick, ev, ok)
					}
				} else if ok {
					t.Errorf("%s was removed from a session that stays open", p.Nick)
				}
			}
			if tt.wantClosed {
				if _, err := f.s.Send(f.client.UserID, chat.Msg{Text: "late"}); !errors.Is(err, chat.ErrClosed) {
					t.Fatalf("Send after close: err = %v, want ErrClosed", err)
				}
			}
		})
	}
}

func TestLastPartyLeavingClosesAndGraceThenPurge(t *testing.T) {
	f := newFixture(t, chat.Settings{ClosedGrace: 30 * time.Second, SessionLimit: 10})
	if f.engine.Alive() != 1 {
		t.Fatalf("Alive = %d, want 1", f.engine.Alive())
	}
	_, closed, err := f.s.Leave(chat.LeaveRequest{UserID: f.client.UserID})
	if err != nil || !closed {
		t.Fatalf("Leave of the only party: closed=%v err=%v, want closed", closed, err)
	}
	evs, _, _, _ := f.s.Read(f.client.UserID, 0, nil)
	last := evs[len(evs)-1]
	if last.Kind != chat.PartyLeft || last.Attrs.Sub(chat.KeySystem).String("quit-reason-code") != "0" {
		t.Fatalf("customer's departure = %+v, want partyLeft with quit-reason-code 0", last)
	}
	if f.engine.Alive() != 0 {
		t.Fatalf("Alive after close = %d, want 0", f.engine.Alive())
	}
	f.clock.Advance(29 * time.Second)
	if _, err := f.engine.Get(f.s.ID()); err != nil {
		t.Fatalf("closed session not readable within the grace period: %v", err)
	}
	f.clock.Advance(time.Second)
	if _, err := f.engine.Get(f.s.ID()); !errors.Is(err, chat.ErrNotFound) {
		t.Fatalf("Get after grace: err = %v, want ErrNotFound", err)
	}
}

func TestCloseRequest(t *testing.T) {
	f := newFixture(t, chat.Settings{})
	agent := f.join("Anna", chat.Agent, chat.VisAll, nil)
	if _, closed, err := f.s.Close(chat.CloseRequest{Reason: chat.RemovedByServer, IfNoAgents: true}); err != nil || closed {
		t.Fatalf("Close IfNoAgents with an agent present: closed=%v err=%v, want kept", closed, err)
	}
	if _, closed, err := f.s.Close(chat.CloseRequest{Reason: chat.RemovedIdle}); err != nil || !closed {
		t.Fatalf("Close: closed=%v err=%v", closed, err)
	}
	for _, ev := range f.read(agent.UserID) {
		if ev.Kind == chat.PartyLeft && ev.Reason != chat.RemovedIdle {
			t.Errorf("partyLeft of %s with reason %d, want 7", ev.From.Nick, ev.Reason)
		}
	}
	if _, closed, err := f.s.Close(chat.CloseRequest{}); err != nil || !closed {
		t.Fatalf("second Close: closed=%v err=%v, want closed and no error", closed, err)
	}
}

func TestReadConfirmReplacedAndRemovedOnLeave(t *testing.T) {
	f := newFixture(t, chat.Settings{})
	agent := f.join("Anna", chat.Agent, chat.VisAll, nil)
	confirm := func(id string) {
		t.Helper()
		if _, err := f.s.Notify(f.client.UserID, chat.Note{Type: chat.SysCommand, Text: chat.ReadConfirm, UserData: kv.Map{chat.LastEventIDKey: id}}); err != nil {
			t.Fatal(err)
		}
	}
	confirms := func() []string {
		var out []string
		for _, ev := range f.read(agent.UserID) {
			if ev.IsReadConfirm() {
				out = append(out, ev.UserData.String(chat.LastEventIDKey))
			}
		}
		return out
	}
	confirm("2")
	confirm("3")
	if got := fmt.Sprint(confirms()); got != "[3]" {
		t.Fatalf("read confirmations after two = %s, want [3]", got)
	}
	if _, _, err := f.s.Leave(chat.LeaveRequest{UserID: f.client.UserID}); err != nil {
		t.Fatal(err)
	}
	if got := confirms(); len(got) != 0 {
		t.Fatalf("read confirmations after the party left = %v, want none", got)
	}
}

func TestChangeNickname(t *testing.T) {
	f := newFixture(t, chat.Settings{})
	agent := f.join("Anna", chat.Agent, chat.VisAll, nil)
	for _, nick := range []string{"Johnny", "J"} {
		if _, err := f.s.ChangeNickname(f.client.UserID, nick); err != nil {
			t.Fatal(err)
		}
	}
	var notices []string
	for _, ev := range f.read(agent.UserID) {
		if ev.Kind == chat.Notice && ev.Notice == chat.NickChanged {
			notices = append(notices, ev.Text+"/"+ev.UserData.String(chat.KeyOriginalNickname))
		}
	}
	if got := fmt.Sprint(notices); got != "[Johnny/John J/John]" {
		t.Fatalf("nickname notices = %s, want [Johnny/John J/John]", got)
	}
	p, _ := f.s.Participant(f.client.UserID)
	if p.Nick != "J" || p.OriginalNick != "John" || p.UserData.String(chat.KeyOriginalNickname) != "John" {
		t.Fatalf("participant after changes = %+v", p)
	}
	// The customer's newParty still shows the nickname at join.
	if first := f.read(agent.UserID)[0]; first.From.Nick != "John" {
		t.Fatalf("newParty nickname rewritten to %q", first.From.Nick)
	}
}

func TestSessionPassword(t *testing.T) {
	f := newFixture(t, chat.Settings{PasswordEnforce: true, ClosedGrace: time.Minute, SessionLimit: 10})
	pw := f.s.Info().Password
	if len(pw) < 16 {
		t.Fatalf("generated password %q is too short", pw)
	}
	if other := newFixture(t, chat.Settings{PasswordEnforce: true, ClosedGrace: time.Minute, SessionLimit: 10}); other.s.Info().Password == pw {
		t.Fatal("two sessions got the same password")
	}
	for _, tt := range []struct {
		name string
		ud   kv.Map
		ok   bool
	}{
		{"missing", nil, false},
		{"wrong", kv.Map{chat.KeySessionPassword: "nope"}, false},
		{"right", kv.Map{chat.KeySessionPassword: pw}, true},
	} {
		p, _, err := f.s.Join(chat.JoinRequest{Nick: "Anna", Type: chat.Agent, UserData: tt.ud})
		if tt.ok != (err == nil) || (!tt.ok && !errors.Is(err, chat.ErrPassword)) {
			t.Fatalf("join with %s password: err = %v", tt.name, err)
		}
		if tt.ok && p.UserData.String(chat.KeySessionPassword) != "" {
			t.Fatal("the password was kept in the party's user data")
		}
	}
	if f := newFixture(t, chat.Settings{}); f.s.Info().Password != "" {
		t.Fatal("a password was generated with enforcement off")
	}
}

func TestIdempotentSend(t *testing.T) {
	f := newFixture(t, chat.Settings{})
	first, err := f.s.Send(f.client.UserID, chat.Msg{Text: "hi", ClientMsgID: "c1"})
	if err != nil {
		t.Fatal(err)
	}
	again, err := f.s.Send(f.client.UserID, chat.Msg{Text: "hi", ClientMsgID: "c1"})
	if err != nil || !again.Duplicate || again.Pos != first.Pos {
		t.Fatalf("retry = %+v, %v; want duplicate of position %d", again, err, first.Pos)
	}
	if got := texts(f.read(f.client.UserID)); len(got) != 1 {
		t.Fatalf("messages after a retried send = %v, want one", got)
	}
}

func TestPositionsContiguousAndErrors(t *testing.T) {
	f := newFixture(t, chat.Settings{})
	agent := f.join("Anna", chat.Agent, chat.VisAll, nil)
	f.clock.Advance(1500 * time.Millisecond)
	for i := 0; i < 5; i++ {
		if _, err := f.s.Send(agent.UserID, chat.Msg{Text: "x", Visibility: chat.Visibility(i % 2)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.s.Notify(agent.UserID, chat.Note{Type: chat.PushURL, Text: "not a url"}); !errors.Is(err, chat.ErrInvalid) {
		t.Fatalf("push of a bad URL: err = %v, want ErrInvalid", err)
	}
	if _, err := f.s.Notify(agent.UserID, chat.Note{Type: chat.IdleAlert}); !errors.Is(err, chat.ErrInvalid) {
		t.Fatalf("party sending IDLE_CONTROL_ALERT: err = %v, want ErrInvalid", err)
	}
	if _, err := f.s.Send("nobody", chat.Msg{Text: "x"}); !errors.Is(err, chat.ErrNotParticipant) {
		t.Fatalf("send from a stranger: err = %v", err)
	}
	if _, err := f.s.Send(agent.UserID, chat.Msg{Text: "x", ReceiverID: "nobody"}); !errors.Is(err, chat.ErrNotParticipant) {
		t.Fatalf("direct message to a stranger: err = %v", err)
	}
	evs, next, _ := f.s.ReadAll(0, nil)
	if next != len(evs) || len(evs) != 7 {
		t.Fatalf("ReadAll: %d events, next %d; want 7 and 7", len(evs), next)
	}
	for i, ev := range evs {
		if ev.Pos != i || ev.ID() != i+1 {
			t.Fatalf("event %d has Pos %d ID %d", i, ev.Pos, ev.ID())
		}
	}
	if got := evs[2].Time.Sub(f.s.CreatedAt()); got != 1500*time.Millisecond {
		t.Fatalf("time offset of event 2 = %v, want 1.5s", got)
	}
	if _, _, _, err := f.s.Read("nobody", 0, nil); !errors.Is(err, chat.ErrNotParticipant) {
		t.Fatalf("Read as a stranger: err = %v", err)
	}
}

func TestSessionLimit(t *testing.T) {
	e := chat.New(chat.Options{Clock: clock.NewFake(t0), Settings: chat.Settings{SessionLimit: 2, ClosedGrace: time.Second}})
	create := func() error {
		_, _, _, err := e.Create(chat.CreateRequest{Creator: chat.JoinRequest{Nick: "c", Type: chat.Client}})
		return err
	}
	if err := create(); err != nil {
		t.Fatal(err)
	}
	if err := create(); err != nil {
		t.Fatal(err)
	}
	if err := create(); !errors.Is(err, chat.ErrLimit) {
		t.Fatalf("third session: err = %v, want ErrLimit", err)
	}
	if _, _, _, err := e.Create(chat.CreateRequest{Creator: chat.JoinRequest{Nick: "c", Type: chat.Client, Visibility: chat.VisInt}}); !errors.Is(err, chat.ErrVisibility) {
		t.Fatalf("customer creating with INT: err = %v", err)
	}
}

func TestChangedWakesWaiter(t *testing.T) {
	f := newFixture(t, chat.Settings{})
	ch := f.s.Changed()
	select {
	case <-ch:
		t.Fatal("Changed fired before any change")
	default:
	}
	if _, err := f.s.Send(f.client.UserID, chat.Msg{Text: "x"}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ch:
	default:
		t.Fatal("Changed did not fire after a send")
	}
}

func TestWorkflowPartyDoesNotKeepSessionOpen(t *testing.T) {
	f := newFixture(t, chat.Settings{})
	if _, _, _, err := f.s.ExternalParty("workflow", chat.VisAll); err != nil {
		t.Fatal(err)
	}
	_, closed, err := f.s.Leave(chat.LeaveRequest{UserID: f.client.UserID})
	if err != nil || !closed {
		t.Fatalf("customer leaving with only the workflow party left: closed=%v err=%v, want closed", closed, err)
	}
}

func TestCustomerDoesNotSeeOthersJoinData(t *testing.T) {
	f := newFixture(t, chat.Settings{})
	agent := f.join("Anna", chat.Agent, chat.VisAll, kv.Map{"skill": "billing"})
	check := func(viewer chat.Participant, want string) {
		t.Helper()
		for _, ev := range f.read(viewer.UserID) {
			if ev.Kind == chat.NewParty && ev.From.UserID == agent.UserID {
				if got := ev.UserData.String("skill"); got != want {
					t.Fatalf("%s sees the agent's join data %q, want %q", viewer.Nick, got, want)
				}
				return
			}
		}
		t.Fatalf("%s does not see the agent join", viewer.Nick)
	}
	check(f.client, "")
	check(agent, "billing")
}

// waitFunc is a Waiter made of a function.
type waitFunc func(context.Context) error

func (f waitFunc) Wait(ctx context.Context) error { return f(ctx) }

// recorder is a Journal that counts events and returns a given waiter.
type recorder struct {
	events int
	w      chat.Waiter
}

func (r *recorder) SessionCreated(*chat.Info) chat.Waiter { return nil }
func (r *recorder) SessionUpdated(*chat.Info) chat.Waiter { return nil }
func (r *recorder) EventAppended(string, *chat.Event) chat.Waiter {
	r.events++
	return r.w
}
func (r *recorder) SessionClosed(*chat.Final) chat.Waiter { return nil }

// TestJournalsLateAndWaitAll appends a journal after the engine is built, as
// the server does for routing, and checks a receipt waits for every journal
// and reports their failures.
func TestJournalsLateAndWaitAll(t *testing.T) {
	failed := errors.New("disk full")
	var js chat.Journals
	e := chat.New(chat.Options{Clock: clock.NewFake(t0), Journal: &js})
	ok := &recorder{w: waitFunc(func(context.Context) error { return nil })}
	bad := &recorder{w: waitFunc(func(context.Context) error { return failed })}
	js = append(js, ok, bad)
	s, c, rc, err := e.Create(chat.CreateRequest{Creator: chat.JoinRequest{Nick: "c", Type: chat.Client}})
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Wait(context.Background()); !errors.Is(err, failed) {
		t.Fatalf("creation receipt = %v, want the failing journal's error", err)
	}
	js = js[:1] // only the journal that succeeds
	rc, err = s.Send(c.UserID, chat.Msg{Text: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Wait(context.Background()); err != nil {
		t.Fatalf("send receipt = %v", err)
	}
	if ok.events != 2 || bad.events != 1 {
		t.Fatalf("journals saw %d and %d events, want 2 and 1", ok.events, bad.events)
	}
}
