package agent_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	wire "github.com/confab/confab/client/agent"
	"github.com/confab/confab/internal/api/agent"
	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/routing"
)

func TestAuthentication(t *testing.T) {
	e := newEnv(t, chat.Settings{}, nil)
	_, cust := e.customer(t, "q", false)
	tests := []struct {
		name   string
		header string
		query  string
		want   int
	}{
		{"no token", "", "", http.StatusUnauthorized},
		{"wrong token", "Bearer nope", "", http.StatusUnauthorized},
		{"not bearer", "Basic " + tokAlice, "", http.StatusUnauthorized},
		{"customer secure key", "Bearer " + cust.Secret, "", http.StatusUnauthorized},
		{"customer secure key in query", "", "?access_token=" + cust.Secret, http.StatusUnauthorized},
		{"agent token, not a WebSocket", "Bearer " + tokAlice, "", http.StatusUpgradeRequired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, e.url+wire.Path+tt.query, nil)
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.want)
			}
		})
	}
	ctx := ctxT(t)
	if _, err := wire.Dial(ctx, e.url, "wrong", nil); !isStatus(err, http.StatusUnauthorized) {
		t.Fatalf("dial with a wrong token: %v", err)
	}
	c := e.dial(t, tokAlice)
	if h := c.Hello(); h.Agent == nil || h.Agent.ID != "alice" || h.MaxFrameSize != 4096 {
		t.Fatalf("hello = %+v", h)
	}
	// The query form works for browsers that cannot set headers.
	ws, _, err := websocket.Dial(ctx, strings.Replace(e.url, "http", "ws", 1)+wire.Path+"?access_token="+tokBob, nil)
	if err != nil {
		t.Fatalf("dial with access_token: %v", err)
	}
	ws.CloseNow()
}

func isStatus(err error, code int) bool {
	var he *wire.HTTPError
	return errors.As(err, &he) && he.StatusCode == code
}

func TestListAcceptChatRelease(t *testing.T) {
	e := newEnv(t, chat.Settings{}, nil)
	s, cust := e.customer(t, "sales", false)
	ctx := ctxT(t)
	alice := e.dial(t, tokAlice)
	list, err := alice.List(ctx, "sales")
	if err != nil || len(list) != 1 || list[0].ID != s.ID() || list[0].State != "queued" || list[0].UserData["FirstName"] != "Kim" {
		t.Fatalf("list = %+v, %v", list, err)
	}
	if other, _ := alice.List(ctx, "support"); len(other) != 0 {
		t.Fatalf("list(support) = %+v", other)
	}
	j, err := alice.Accept(ctx, s.ID(), wire.JoinOptions{Text: "Hello, I am Alice"})
	if err != nil {
		t.Fatal(err)
	}
	if j.SessionID != s.ID() || j.UserID == "" || j.Interaction == nil || j.Interaction.State != "assigned" || j.Interaction.AgentID != "alice" {
		t.Fatalf("accept = %+v", j)
	}
	// The replay starts with the customer's join.
	f := waitFrame(t, alice, func(f wire.Frame) bool { return f.Type == wire.FrameEvents })
	if !f.Replay || len(f.Events) < 2 || f.Events[0].Kind != "newParty" || f.Events[0].From.UserType != "CLIENT" {
		t.Fatalf("first events frame = %+v", f)
	}
	if _, err := s.Send(cust.UserID, chat.Msg{Text: "my order is late"}); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, alice, func(_ string, ev wire.Event) bool { return ev.Kind == "message" && ev.Text == "my order is late" })
	ack, err := alice.Send(ctx, s.ID(), wire.Message{Text: "let me check", MsgType: "text"})
	if err != nil || ack.Pos == 0 {
		t.Fatalf("send = %+v, %v", ack, err)
	}
	customerSees(t, s, cust.UserID, func(ev chat.Event) bool { return ev.Pos == ack.Pos && ev.Text == "let me check" })
	if _, err := alice.Notify(ctx, s.ID(), wire.Notice{Type: "TYPING_STARTED"}); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.ChangeNickname(ctx, s.ID(), "Alice B."); err != nil {
		t.Fatal(err)
	}
	customerSees(t, s, cust.UserID, func(ev chat.Event) bool { return ev.Notice == chat.NickChanged && ev.Text == "Alice B." })
	if _, err := alice.Notify(ctx, s.ID(), wire.Notice{Type: "USER_PUSHED_URL", Text: "https://example.com/faq"}); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Notify(ctx, s.ID(), wire.Notice{Type: "SYS_COMMAND", Text: "read-confirm", UserData: map[string]any{"last-event-id": "3"}}); err != nil {
		t.Fatal(err)
	}
	// Rich content with fallback text.
	rich := map[string]any{"structured-content": map[string]any{"genesys-chat": map[string]any{"content": `{"type":"Message"}`, "type": "Generic"}}}
	ack, err = alice.Send(ctx, s.ID(), wire.Message{Text: "pick one", EventAttributes: rich})
	if err != nil {
		t.Fatal(err)
	}
	ev := customerSees(t, s, cust.UserID, func(ev chat.Event) bool { return ev.Pos == ack.Pos })
	if ev.Attrs.Sub("structured-content").Sub("genesys-chat").String("type") != "Generic" {
		t.Fatalf("rich attributes = %v", ev.Attrs)
	}
	rel, err := alice.Release(ctx, s.ID(), "CLOSE_IF_NO_AGENTS", "bye")
	if err != nil || !rel.Closed {
		t.Fatalf("release = %+v, %v", rel, err)
	}
	left := waitEvent(t, alice, func(_ string, ev wire.Event) bool { return ev.Kind == "partyLeft" && ev.From.UserID == j.UserID })
	if left.Reason == nil || left.Reason.Code != 1 {
		t.Fatalf("own partyLeft = %+v", left)
	}
	if _, err := alice.Send(ctx, s.ID(), wire.Message{Text: "late"}); codeOf(err) != wire.CodeNotJoined {
		t.Fatalf("send after release: %v", err)
	}
}

func TestDroppedSocketRemovesPartyAtOnce(t *testing.T) {
	for _, async := range []bool{false, true} {
		t.Run(map[bool]string{false: "regular", true: "async"}[async], func(t *testing.T) {
			e := newEnv(t, chat.Settings{}, nil)
			s, cust := e.customer(t, "q", async)
			ctx := ctxT(t)
			ws, _, err := websocket.Dial(ctx, strings.Replace(e.url, "http", "ws", 1)+wire.Path,
				&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + tokAlice}}})
			if err != nil {
				t.Fatal(err)
			}
			go func() { // keep reading so the socket stays healthy until we drop it
				for {
					if _, _, err := ws.Read(context.Background()); err != nil {
						return
					}
				}
			}()
			if err := ws.Write(ctx, websocket.MessageText, []byte(`{"id":"a","op":"accept","interactionId":"`+s.ID()+`"}`)); err != nil {
				t.Fatal(err)
			}
			customerSees(t, s, cust.UserID, func(ev chat.Event) bool { return ev.Kind == chat.NewParty && ev.From.Type == chat.Agent })
			dropped := time.Now()
			ws.CloseNow() // no close frame: the connection is simply gone
			ev := customerSees(t, s, cust.UserID, func(ev chat.Event) bool { return ev.Kind == chat.PartyLeft && ev.From.Type == chat.Agent })
			if ev.Reason != chat.LeftDisconnect {
				t.Fatalf("partyLeft reason %d, want 3", ev.Reason)
			}
			if d := time.Since(dropped); d > 2*time.Second {
				t.Fatalf("partyLeft came %v after the drop", d)
			}
			v, err := e.router.Get(s.ID())
			if err != nil {
				t.Fatal(err)
			}
			if async && v.AsyncStatus != routing.AsyncAgentDisconnected {
				t.Fatalf("async status %d, want 4", v.AsyncStatus)
			}
			if !async && v.AsyncStatus != 0 {
				t.Fatalf("regular chat got async status %d", v.AsyncStatus)
			}
			if s.State() != chat.Alive {
				t.Fatal("the customer's session closed")
			}
		})
	}
}

func TestRetriedRequestIsAppliedOnce(t *testing.T) {
	e := newEnv(t, chat.Settings{}, nil)
	s, cust := e.customer(t, "q", false)
	ctx := ctxT(t)
	c := e.dial(t, tokAlice)
	first, err := c.Do(ctx, wire.Request{ID: "acc-1", Op: wire.OpAccept, InteractionID: s.ID()})
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.Do(ctx, wire.Request{ID: "acc-1", Op: wire.OpAccept, InteractionID: s.ID()})
	if err != nil || !again.Duplicate || again.UserID != first.UserID {
		t.Fatalf("retried accept = %+v, %v; want the first answer marked duplicate", again, err)
	}
	// The kept answer (kept.go: encoded once, marked duplicate) is the
	// first answer in every other field.
	g := again
	g.Duplicate = false
	if !reflect.DeepEqual(g, first) {
		t.Fatalf("duplicate answer %+v differs from the first %+v", again, first)
	}
	send := []byte(`{"id":"m-1","op":"send","sessionId":"` + s.ID() + `","text":"once"}`)
	for i := 0; i < 3; i++ { // sent three times in a row, before any answer
		if err := c.WriteRaw(ctx, send, false); err != nil {
			t.Fatal(err)
		}
	}
	var answers []wire.Frame
	for len(answers) < 3 {
		answers = append(answers, waitFrame(t, c, func(f wire.Frame) bool { return f.ID == "m-1" }))
	}
	dups := 0
	for _, a := range answers {
		if a.Type != wire.FrameResult || a.Pos == nil || *a.Pos != *answers[0].Pos {
			t.Fatalf("answers differ: %+v", answers)
		}
		if a.Duplicate {
			dups++
		}
	}
	if dups != 2 || answers[0].Duplicate {
		t.Fatalf("%d duplicates (first duplicate: %v), want the first answer fresh and 2 duplicates", dups, answers[0].Duplicate)
	}
	evs, _, _, _ := s.Read(cust.UserID, 0, nil)
	n, agents := 0, 0
	for _, ev := range evs {
		if ev.Kind == chat.Message && ev.Text == "once" {
			n++
		}
		if ev.Kind == chat.NewParty && ev.From.Type == chat.Agent {
			agents++
		}
	}
	if n != 1 || agents != 1 {
		t.Fatalf("message applied %d times, agent joined %d times; want 1 and 1", n, agents)
	}
}

func TestBadFramesKeepTheSocket(t *testing.T) {
	e := newEnv(t, chat.Settings{}, nil)
	s, cust := e.customer(t, "q", false)
	s2, _ := e.customer(t, "q", false)
	ctx := ctxT(t)
	c := e.dial(t, tokAlice)
	if _, err := c.Accept(ctx, s.ID(), wire.JoinOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Accept(ctx, s2.ID(), wire.JoinOptions{}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		frame  string
		binary bool
		id     string
		code   int
		field  string
	}{
		{"not JSON", `hello`, false, "", wire.CodeBadFrame, ""},
		{"truncated", `{"id":"x1","op":"send"`, false, "", wire.CodeBadFrame, ""},
		{"array", `[1,2]`, false, "", wire.CodeBadFrame, ""},
		{"binary", `{"id":"b","op":"ping"}`, true, "", wire.CodeBadFrame, ""},
		{"two objects", `{"id":"x2","op":"ping"}{}`, false, "x2", wire.CodeBadFrame, ""},
		{"unknown field", `{"id":"x3","op":"send","txt":"hi"}`, false, "x3", wire.CodeBadRequest, "txt"},
		{"wrong type", `{"id":"x4","op":"send","text":5}`, false, "x4", wire.CodeBadRequest, "text"},
		{"no id", `{"op":"ping"}`, false, "", wire.CodeBadRequest, "id"},
		{"no op", `{"id":"x5"}`, false, "x5", wire.CodeBadRequest, "op"},
		{"unknown op", `{"id":"x6","op":"dance"}`, false, "x6", wire.CodeUnknownOp, "op"},
		{"user data not an object", `{"id":"x7","op":"join","sessionId":"s","userData":"a:b"}`, false, "x7", wire.CodeBadRequest, "userData"},
		{"user data with an array", `{"id":"x8","op":"notify","sessionId":"s","noticeType":"USER_CUSTOM","userData":{"a":[1]}}`, false, "x8", wire.CodeNotJoined, "sessionId"},
		{"oversized", `{"id":"big","op":"send","text":"` + strings.Repeat("x", 5000) + `"}`, false, "", wire.CodeTooLarge, ""},
		{"bad visibility", `{"id":"x9","op":"send","sessionId":"` + s.ID() + `","text":"hi","visibility":"SECRET"}`, false, "x9", wire.CodeBadRequest, "visibility"},
		{"agent may not use VIP", `{"id":"x10","op":"send","sessionId":"` + s.ID() + `","text":"hi","visibility":"VIP"}`, false, "x10", wire.CodeVisibility, "visibility"},
		{"unknown receiver", `{"id":"x11","op":"send","sessionId":"` + s.ID() + `","text":"hi","receiverId":"nobody"}`, false, "x11", wire.CodeBadRequest, "receiverId"},
		{"empty message", `{"id":"x12","op":"send","sessionId":"` + s.ID() + `"}`, false, "x12", wire.CodeBadRequest, "text"},
		{"bad treatAs", `{"id":"x13","op":"send","sessionId":"` + s.ID() + `","text":"a","treatAs":"LOUD"}`, false, "x13", wire.CodeBadRequest, "treatAs"},
		{"bad notice type", `{"id":"x14","op":"notify","sessionId":"` + s.ID() + `","noticeType":"SHOUT"}`, false, "x14", wire.CodeBadRequest, "noticeType"},
		{"server-only notice", `{"id":"x15","op":"notify","sessionId":"` + s.ID() + `","noticeType":"IDLE_CONTROL_CLOSE"}`, false, "x15", wire.CodeBadRequest, "noticeType"},
		{"bad pushed URL", `{"id":"x16","op":"notify","sessionId":"` + s.ID() + `","noticeType":"USER_PUSHED_URL","text":"not a url"}`, false, "x16", wire.CodeBadRequest, "text"},
		{"empty nickname", `{"id":"x17","op":"notify","sessionId":"` + s.ID() + `","noticeType":"USER_UPDATE_NICK"}`, false, "x17", wire.CodeBadRequest, "text"},
		{"bad after-action", `{"id":"x18","op":"release","sessionId":"` + s.ID() + `","afterAction":"VANISH"}`, false, "x18", wire.CodeBadRequest, "afterAction"},
		{"unknown session", `{"id":"x19","op":"join","sessionId":"nope"}`, false, "x19", wire.CodeNoSession, "sessionId"},
		{"already joined", `{"id":"x20","op":"join","sessionId":"` + s.ID() + `"}`, false, "x20", wire.CodeJoined, "sessionId"},
		{"not a supervisor", `{"id":"x21","op":"join","sessionId":"` + s.ID() + `","userType":"SUPERVISOR"}`, false, "x21", wire.CodeForbidden, "userType"},
		{"bad user type", `{"id":"x22","op":"join","sessionId":"` + s.ID() + `","userType":"CLIENT"}`, false, "x22", wire.CodeBadRequest, "userType"},
		{"unknown interaction", `{"id":"x23","op":"accept","interactionId":"nope"}`, false, "x23", wire.CodeNoIxn, "interactionId"},
		{"accept without id", `{"id":"x24","op":"accept"}`, false, "x24", wire.CodeBadRequest, "interactionId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := c.WriteRaw(ctx, []byte(tt.frame), tt.binary); err != nil {
				t.Fatal(err)
			}
			f := waitFrame(t, c, func(f wire.Frame) bool { return f.Type == wire.FrameError })
			if f.ID != tt.id || f.Code != tt.code || f.Field != tt.field || f.Error != wire.ErrorNames[tt.code] || f.Message == "" {
				t.Fatalf("error frame = %+v; want id %q code %d field %q", f, tt.id, tt.code, tt.field)
			}
		})
	}
	// The socket and both its sessions are intact.
	if _, err := c.Send(ctx, s.ID(), wire.Message{Text: "still here"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Send(ctx, s2.ID(), wire.Message{Text: "here too"}); err != nil {
		t.Fatal(err)
	}
	evs, _, _, _ := s.Read(cust.UserID, 0, nil)
	for _, ev := range evs {
		if ev.Kind == chat.PartyLeft {
			t.Fatalf("a party left after bad frames: %+v", ev)
		}
		if ev.Kind == chat.Message && ev.Text == "hi" {
			t.Fatalf("a refused message was appended: %+v", ev)
		}
	}
}

func TestAcceptRaceOverSockets(t *testing.T) {
	e := newEnv(t, chat.Settings{}, nil)
	ctx := ctxT(t)
	alice, bob := e.dial(t, tokAlice), e.dial(t, tokBob)
	for i := 0; i < 10; i++ {
		s, _ := e.customer(t, "q", false)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for k, c := range []*wire.Client{alice, bob} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[k] = c.Accept(ctx, s.ID(), wire.JoinOptions{})
			}()
		}
		wg.Wait()
		ok, taken := 0, 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case codeOf(err) == wire.CodeTaken:
				taken++
				if err.(*wire.Error).Name != "already-accepted" {
					t.Fatalf("error name %q", err.(*wire.Error).Name)
				}
			default:
				t.Fatalf("accept: %v", err)
			}
		}
		if ok != 1 || taken != 1 {
			t.Fatalf("round %d: %d won, %d taken", i, ok, taken)
		}
	}
}

func TestSupervisorBotAndPassword(t *testing.T) {
	st := chat.DefaultSettings
	st.PasswordEnforce = true
	e := newEnv(t, st, nil)
	s, cust := e.customer(t, "q", false)
	ctx := ctxT(t)
	pw := s.Info().Password
	bot := e.dial(t, tokBot)
	if _, err := bot.Join(ctx, s.ID(), wire.JoinOptions{}); codeOf(err) != wire.CodePassword {
		t.Fatalf("join without the password: %v", err)
	}
	if _, err := bot.Join(ctx, s.ID(), wire.JoinOptions{UserData: map[string]any{"GCTI_Chat_SessionPassword": pw, "GCTI_Chat_SetPartyStyle": "BOT"}}); err != nil {
		t.Fatalf("bot join with the password: %v", err)
	}
	joined := customerSees(t, s, cust.UserID, func(ev chat.Event) bool { return ev.Kind == chat.NewParty && ev.From.Type == chat.Agent })
	if !joined.From.Bot || joined.UserData.String("GCTI_Chat_SessionPassword") != "" {
		t.Fatalf("bot newParty = %+v", joined)
	}
	// Accept supplies the password itself.
	alice := e.dial(t, tokAlice)
	if _, err := alice.Accept(ctx, s.ID(), wire.JoinOptions{}); err != nil {
		t.Fatalf("accept with an enforced password: %v", err)
	}
	sue := e.dial(t, tokSue)
	if _, err := sue.Join(ctx, s.ID(), wire.JoinOptions{UserType: "SUPERVISOR", Visibility: "VIP", UserData: map[string]any{"GCTI_Chat_SessionPassword": pw}}); err != nil {
		t.Fatalf("supervisor join: %v", err)
	}
	if _, err := sue.Send(ctx, s.ID(), wire.Message{Text: "monitor note", Visibility: "VIP"}); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, sue, func(_ string, ev wire.Event) bool { return ev.Text == "monitor note" })
	evs, _, _, _ := s.Read(cust.UserID, 0, nil)
	for _, ev := range evs {
		if ev.Text == "monitor note" || ev.From.Type == chat.Supervisor {
			t.Fatalf("customer sees the supervisor: %+v", ev)
		}
	}
}

func TestSlowConsumerIsDropped(t *testing.T) {
	e := newEnv(t, chat.Settings{}, func(o *agent.Options) { o.Queue = 4; o.WriteTimeout = time.Second })
	s, cust := e.customer(t, "q", false)
	ctx := ctxT(t)
	// A client with a tiny TCP receive window and a one-frame buffer that
	// never reads its frames: the server's queue fills quickly.
	dialer := &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
	}}
	hc := &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext}}
	c, err := wire.Dial(ctx, e.url, tokAlice, &wire.Options{FrameBuffer: 1, HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Accept(ctx, s.ID(), wire.JoinOptions{}); err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("x", 8<<10)
	deadline := time.Now().Add(20 * time.Second)
	pos := 0
	for dropped := false; !dropped; {
		if _, err := s.Send(cust.UserID, chat.Msg{Text: big}); err != nil {
			t.Fatal(err)
		}
		evs, next, _, _ := s.Read(cust.UserID, pos, nil)
		pos = next
		for _, ev := range evs {
			if ev.Kind == chat.PartyLeft && ev.From.Type == chat.Agent {
				dropped = true
				if ev.Reason != chat.LeftDisconnect {
					t.Fatalf("slow agent left with reason %d, want 3", ev.Reason)
				}
			}
		}
		if !dropped && time.Now().After(deadline) {
			t.Fatal("the slow socket was never dropped")
		}
	}
	for range c.Frames() { // drain what was buffered; the connection then ends
	}
	if c.Err() == nil {
		t.Fatal("connection still open")
	}
	// The close frame comes after what the client had not read; when it
	// arrives it names the reason.
	if code, reason := wire.CloseStatus(c.Err()); code != -1 && (code != wire.CloseSlowConsumer || reason != "slow consumer") {
		t.Fatalf("close status %d %q, want 4001 slow consumer", code, reason)
	}
}

func TestShutdownClosesSockets(t *testing.T) {
	e := newEnv(t, chat.Settings{}, nil)
	s, cust := e.customer(t, "q", false)
	ctx := ctxT(t)
	c := e.dial(t, tokAlice)
	if _, err := c.Accept(ctx, s.ID(), wire.JoinOptions{}); err != nil {
		t.Fatal(err)
	}
	e.handler.Shutdown(ctx)
	customerSees(t, s, cust.UserID, func(ev chat.Event) bool { return ev.Kind == chat.PartyLeft && ev.Reason == chat.LeftDisconnect })
	for range c.Frames() {
	}
	if code, _ := wire.CloseStatus(c.Err()); code != int(websocket.StatusGoingAway) {
		t.Fatalf("close code %d, want 1001", code)
	}
	if _, err := wire.Dial(ctx, e.url, tokAlice, nil); !isStatus(err, http.StatusServiceUnavailable) {
		t.Fatalf("dial after shutdown: %v", err)
	}
}
