package routing_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/config"
	"github.com/confab/confab/internal/kv"
	"github.com/confab/confab/internal/routing"
	"github.com/confab/confab/internal/store"
)

func TestAttachedData(t *testing.T) {
	tests := []struct {
		name     string
		async    bool
		password bool
		want     map[string]string
		absent   []string
	}{
		{"regular", false, false, map[string]string{"FirstName": "Kim", "IsOnline": "1", "ChatServerAppName": "confab-test"},
			[]string{"GCTI_Chat_AsyncStatus", "ChatServerSessionPassword"}},
		{"async", true, false, map[string]string{"GCTI_Chat_AsyncStatus": "1", "IsOnline": "1"}, []string{"ChatServerSessionPassword"}},
		{"password enforced", false, true, map[string]string{"IsOnline": "1"}, []string{"GCTI_Chat_AsyncStatus"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := chat.DefaultSettings
			st.PasswordEnforce = tt.password
			f := newFixture(t, nil, st)
			s, _ := f.customer(t, "sales", tt.async, kv.Map{"FirstName": "Kim", "nested": kv.Map{"a": "b"}})
			v := mustGet(t, f.router, s.ID())
			if v.State != routing.Queued || v.Queue != "sales" || v.SessionID != s.ID() || !v.Online || v.Async != tt.async {
				t.Fatalf("interaction = %+v", v)
			}
			if v.UserData.String(routing.KeySessionID) != s.ID() || v.UserData.Sub("nested").String("a") != "b" {
				t.Fatalf("attached data %v lacks session id or customer data", v.UserData)
			}
			for k, want := range tt.want {
				if got := v.UserData.String(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			for _, k := range tt.absent {
				if _, ok := v.UserData[k]; ok {
					t.Errorf("%s present, want absent", k)
				}
			}
			if tt.password && v.UserData.String(routing.KeySessionPassword) != s.Info().Password {
				t.Errorf("ChatServerSessionPassword = %q, want the session's password", v.UserData.String(routing.KeySessionPassword))
			}
			if w := f.router.Waiting("sales"); len(w) != 1 || w[0].ID != s.ID() {
				t.Errorf("Waiting(sales) = %v", w)
			}
			if w := f.router.Waiting("other"); len(w) != 0 {
				t.Errorf("Waiting(other) = %v, want none", w)
			}
			// The customer's later data reach the attached data.
			cust := s.Info().Participants[0].UserID
			if err := s.UpdateUserData(cust, kv.Map{"Order": "42"}); err != nil {
				t.Fatal(err)
			}
			if got := mustGet(t, f.router, s.ID()).UserData.String("Order"); got != "42" {
				t.Errorf("after updateData Order = %q", got)
			}
		})
	}
}

func TestStopAbandonedInteraction(t *testing.T) {
	type scenario func(t *testing.T, s *chat.Session, customer chat.Participant)
	customerLeaves := func(t *testing.T, s *chat.Session, c chat.Participant) {
		if _, _, err := s.Leave(chat.LeaveRequest{UserID: c.UserID}); err != nil {
			t.Fatal(err)
		}
	}
	scenarios := map[string]scenario{
		"abandoned in queue": customerLeaves,
		"abandoned with agent present": func(t *testing.T, s *chat.Session, c chat.Participant) {
			agentJoin(t, s, chat.Agent, false)
			customerLeaves(t, s, c)
			if s.State() != chat.Closed { // the agent is still there: close from the workflow
				s.Close(chat.CloseRequest{Reason: chat.RemovedByServer})
			}
		},
		"agent answered then left": func(t *testing.T, s *chat.Session, c chat.Participant) {
			a := agentJoin(t, s, chat.Agent, false)
			if _, _, err := s.Leave(chat.LeaveRequest{UserID: a.UserID}); err != nil {
				t.Fatal(err)
			}
			customerLeaves(t, s, c)
		},
		"only a bot answered": func(t *testing.T, s *chat.Session, c chat.Participant) {
			b := agentJoin(t, s, chat.Agent, true)
			customerLeaves(t, s, c)
			s.Leave(chat.LeaveRequest{UserID: b.UserID})
		},
		"agent closes": func(t *testing.T, s *chat.Session, c chat.Participant) {
			a := agentJoin(t, s, chat.Agent, false)
			if _, closed, err := s.Leave(chat.LeaveRequest{UserID: a.UserID, After: chat.ForceClose}); err != nil || !closed {
				t.Fatalf("force close: %v %v", closed, err)
			}
		},
	}
	tests := []struct {
		mode     config.StopMode
		scenario string
		want     routing.State
	}{
		{config.StopNever, "abandoned in queue", routing.Offline},
		{config.StopAlways, "agent closes", routing.Stopped},
		{config.StopNoAgents, "abandoned in queue", routing.Stopped},
		{config.StopNoAgents, "abandoned with agent present", routing.Offline},
		{config.StopNoAgents, "agent answered then left", routing.Stopped},
		{config.StopNoAgents, "only a bot answered", routing.Stopped},
		{config.StopNoAgents, "agent closes", routing.Offline},
		{config.StopNoAnswer, "abandoned in queue", routing.Stopped},
		{config.StopNoAnswer, "agent answered then left", routing.Offline},
		{config.StopNoAnswer, "only a bot answered", routing.Stopped},
		{config.StopNever, "only a bot answered", routing.Offline},
	}
	for _, tt := range tests {
		t.Run(string(tt.mode)+"/"+tt.scenario, func(t *testing.T) {
			f := newFixture(t, nil, chat.Settings{})
			f.setMode(tt.mode)
			sub, _ := f.router.Subscribe("q", 0)
			defer sub.Close()
			s, c := f.customer(t, "q", false, nil)
			scenarios[tt.scenario](t, s, c)
			if s.State() != chat.Closed {
				t.Fatal("session still alive")
			}
			var last routing.Change
			for last.Type != routing.ChangeClosed {
				select {
				case last = <-sub.C():
				case <-time.After(5 * time.Second):
					t.Fatal("no closed change published")
				}
			}
			v := last.Interaction
			if v.State != tt.want || v.Online || v.UserData.String(routing.KeyIsOnline) != "0" {
				t.Fatalf("closed interaction: state %s online %v IsOnline %q, want state %s, offline, IsOnline 0",
					v.State, v.Online, v.UserData.String(routing.KeyIsOnline), tt.want)
			}
		})
	}
}

func TestAcceptIsAtomic(t *testing.T) {
	for round := 0; round < 20; round++ {
		f := newFixture(t, nil, chat.Settings{})
		s, _ := f.customer(t, "q", false, nil)
		const n = 8
		var wg sync.WaitGroup
		errs := make([]error, n)
		start := make(chan struct{})
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, errs[i] = f.router.Accept(s.ID(), "agent", chat.JoinRequest{Nick: "a", Type: chat.Agent, Protocol: chat.Basic})
			}()
		}
		close(start)
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, routing.ErrTaken):
				t.Fatalf("losing accept: %v, want ErrTaken", err)
			}
		}
		if won != 1 {
			t.Fatalf("round %d: %d accepts won, want exactly 1", round, won)
		}
		agents := 0
		for _, p := range s.Info().Participants {
			if p.Type == chat.Agent {
				agents++
			}
		}
		if agents != 1 {
			t.Fatalf("%d agents joined, want 1", agents)
		}
		if v := mustGet(t, f.router, s.ID()); v.State != routing.Assigned || v.AgentID != "agent" {
			t.Fatalf("after accept: %+v", v)
		}
	}
}

func TestAcceptErrors(t *testing.T) {
	f := newFixture(t, nil, chat.Settings{})
	s, _ := f.customer(t, "q", false, nil)
	// A join the engine refuses (an agent may not use VIP) gives the
	// interaction back to its queue.
	_, err := f.router.Accept(s.ID(), "a1", chat.JoinRequest{Type: chat.Agent, Visibility: chat.VisVIP})
	if !errors.Is(err, chat.ErrVisibility) {
		t.Fatalf("accept with VIP: %v", err)
	}
	if v := mustGet(t, f.router, s.ID()); v.State != routing.Queued || v.AgentID != "" {
		t.Fatalf("after a failed accept: %+v, want queued again", v)
	}
	if _, err := f.router.Accept("nope", "a1", chat.JoinRequest{Type: chat.Agent}); !errors.Is(err, routing.ErrNotFound) {
		t.Fatalf("accept unknown: %v", err)
	}
	acc, err := f.router.Accept(s.ID(), "a1", chat.JoinRequest{Type: chat.Agent})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.router.Accept(s.ID(), "a2", chat.JoinRequest{Type: chat.Agent}); !errors.Is(err, routing.ErrTaken) {
		t.Fatalf("second accept: %v", err)
	}
	// The agent leaves and the customer waits again: back in the queue.
	if _, _, err := s.Leave(chat.LeaveRequest{UserID: acc.Participant.UserID}); err != nil {
		t.Fatal(err)
	}
	if v := mustGet(t, f.router, s.ID()); v.State != routing.Queued || v.AgentID != "" {
		t.Fatalf("after the agent left: %+v", v)
	}
	s.Close(chat.CloseRequest{Reason: chat.RemovedByServer})
	if _, err := f.router.Accept(s.ID(), "a2", chat.JoinRequest{Type: chat.Agent}); !errors.Is(err, routing.ErrClosed) && !errors.Is(err, routing.ErrNotFound) {
		t.Fatalf("accept of an ended interaction: %v", err)
	}
}

func TestAsyncStatus(t *testing.T) {
	f := newFixture(t, nil, chat.Settings{})
	s, c := f.customer(t, "q", true, nil)
	status := func() (int, routing.State) {
		v := mustGet(t, f.router, s.ID())
		if v.UserData.String(routing.KeyAsyncStatus) == "" {
			t.Fatal("no GCTI_Chat_AsyncStatus")
		}
		return v.AsyncStatus, v.State
	}
	steps := []struct {
		name   string
		do     func()
		status int
		state  routing.State
	}{
		{"created", func() {}, 1, routing.Queued},
		{"customer writes, not on hold", func() { s.Send(c.UserID, chat.Msg{Text: "hi"}) }, 1, routing.Queued},
		{"agent joins", func() { agentJoin(t, s, chat.Agent, false) }, -1, routing.Assigned},
		{"workflow places on hold", func() {
			if err := f.router.PlaceOnHold(s.ID()); err != nil {
				t.Fatal(err)
			}
		}, -2, routing.Assigned},
		{"agent leaves", func() {
			for _, p := range s.Info().Participants {
				if p.Type == chat.Agent && !p.Left {
					s.Leave(chat.LeaveRequest{UserID: p.UserID})
				}
			}
		}, -2, routing.Held},
		{"customer writes while held", func() { s.Send(c.UserID, chat.Msg{Text: "anyone?"}) }, 2, routing.Queued},
		{"agent joins again", func() { agentJoin(t, s, chat.Agent, false) }, -1, routing.Assigned},
		{"agent desktop drops", func() {
			for _, p := range s.Info().Participants {
				if p.Type == chat.Agent && !p.Left {
					s.Leave(chat.LeaveRequest{UserID: p.UserID, Reason: chat.LeftDisconnect})
				}
			}
		}, 4, routing.Queued},
	}
	for _, st := range steps {
		st.do()
		if got, state := status(); got != st.status || state != st.state {
			t.Fatalf("%s: status %d state %s, want %d %s", st.name, got, state, st.status, st.state)
		}
	}
	r, _ := f.customer(t, "q", false, nil)
	if err := f.router.PlaceOnHold(r.ID()); !errors.Is(err, routing.ErrNotAsync) {
		t.Fatalf("PlaceOnHold of a regular chat: %v, want ErrNotAsync", err)
	}
}

func TestStream(t *testing.T) {
	f := newFixture(t, nil, chat.Settings{})
	subA, _ := f.router.Subscribe("A", 0)
	defer subA.Close()
	all, _ := f.router.Subscribe("", 0)
	defer all.Close()
	a, _ := f.customer(t, "A", false, nil)
	b, _ := f.customer(t, "B", false, nil)
	next := func(s *routing.Subscription) routing.Change {
		t.Helper()
		select {
		case c := <-s.C():
			return c
		case <-time.After(5 * time.Second):
			t.Fatal("no change")
		}
		return routing.Change{}
	}
	if c := next(subA); c.Type != routing.ChangeCreated || c.Interaction.ID != a.ID() {
		t.Fatalf("queue A got %+v", c)
	}
	c1, c2 := next(all), next(all)
	if c1.Interaction.ID != a.ID() || c2.Interaction.ID != b.ID() || c2.Seq != c1.Seq+1 {
		t.Fatalf("all got %d %s then %d %s", c1.Seq, c1.Interaction.ID, c2.Seq, c2.Interaction.ID)
	}
	select {
	case c := <-subA.C():
		t.Fatalf("queue A got a change of queue B: %+v", c)
	default:
	}
	// Resuming after the first change replays the second.
	again, missed := f.router.Subscribe("", c1.Seq)
	if missed {
		t.Fatal("resume reported missed changes")
	}
	if c := next(again); c.Seq != c2.Seq {
		t.Fatalf("resume replayed seq %d, want %d", c.Seq, c2.Seq)
	}
	again.Close()

	// A subscriber that does not read is dropped, not waited for.
	slow, _ := f.router.Subscribe("", 0)
	for i := 0; i < 300; i++ {
		f.customer(t, "C", false, nil)
	}
	select {
	case <-slow.Done():
		if !errors.Is(slow.Err(), routing.ErrSlowConsumer) {
			t.Fatalf("slow subscriber ended with %v", slow.Err())
		}
	default:
		t.Fatal("slow subscriber still subscribed")
	}
}

func TestPersistence(t *testing.T) {
	st := newMemStore()
	f := newFixture(t, st, chat.Settings{})
	s, c := f.customer(t, "q", false, kv.Map{"contact": "C-7", "FirstName": "Kim"})
	a := agentJoin(t, s, chat.Agent, false)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.router.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	rec, ud := st.get(t, s.ID())
	if rec.State != string(routing.Assigned) || ud.String(routing.KeyIsOnline) != "1" || ud.String(routing.KeyAppName) != "confab-test" {
		t.Fatalf("stored while live: state %s data %v", rec.State, ud)
	}
	if ud.String(routing.KeyContactID) != "C-7" {
		t.Fatalf("ContactId = %q, want the record's contact C-7", ud.String(routing.KeyContactID))
	}
	if got := mustGet(t, f.router, s.ID()).UserData.String(routing.KeyContactID); got != "C-7" {
		t.Fatalf("live ContactId = %q", got)
	}

	// The session ends; history closes the record a little later with the
	// session's own data. Routing's final write must land after it.
	s.Leave(chat.LeaveRequest{UserID: a.UserID})
	s.Leave(chat.LeaveRequest{UserID: c.UserID})
	time.Sleep(150 * time.Millisecond)
	st.CloseInteraction(context.Background(), s.ID(), time.Now(), store.Bytes([]byte(`{}`)), []byte(`{}`), []byte(`{"FirstName":"Kim"}`))
	if err := f.router.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	rec, ud = st.get(t, s.ID())
	if rec.Status != store.StatusClosed || rec.State != string(routing.Offline) || ud.String(routing.KeyIsOnline) != "0" || ud.String(routing.KeyAppName) == "" {
		t.Fatalf("stored after close: status %s state %s data %v", rec.Status, rec.State, ud)
	}
	if _, err := f.router.Get(s.ID()); !errors.Is(err, routing.ErrNotFound) {
		t.Fatalf("closed interaction still in memory after it was written: %v", err)
	}
	// The listing finds it in the store.
	list, err := f.router.List(ctx, routing.Filter{Queue: "q"})
	if err != nil || len(list) != 1 || list[0].State != routing.Offline || list[0].Online || list[0].UserData.String(routing.KeyIsOnline) != "0" {
		t.Fatalf("List = %+v, %v", list, err)
	}
}

func TestWorkflowPartyDoesNotKeepSessionOpen(t *testing.T) {
	f := newFixture(t, nil, chat.Settings{})
	s, c := f.customer(t, "q", false, nil)
	if _, joined, _, err := s.ExternalParty("workflow", chat.VisAll); err != nil || !joined {
		t.Fatalf("workflow party: joined %v err %v", joined, err)
	}
	if _, joined, _, _ := s.ExternalParty("workflow", chat.VisAll); joined {
		t.Fatal("a second workflow party joined under the same nickname")
	}
	if _, _, err := s.Leave(chat.LeaveRequest{UserID: c.UserID}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.State() != chat.Closed {
		if time.Now().After(deadline) {
			t.Fatal("session with only a workflow party left is still alive")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestList(t *testing.T) {
	f := newFixture(t, nil, chat.Settings{})
	f.customer(t, "q", false, nil)
	list, err := f.router.List(context.Background(), routing.Filter{State: routing.Queued})
	if err != nil || len(list) != 1 {
		t.Fatalf("List(queued) = %v, %v", list, err)
	}
	if list, _ := f.router.List(context.Background(), routing.Filter{State: routing.Assigned}); len(list) != 0 {
		t.Fatalf("List(assigned) = %v", list)
	}
}
