package esp_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/confab/confab/internal/leakcheck"

	wire "github.com/confab/confab/client/esp"
	"github.com/confab/confab/internal/api/esp"
	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/config"
	"github.com/confab/confab/internal/routing"
)

const token = "esp-secret"

type env struct {
	engine *chat.Engine
	router *routing.Router
	url    string
	client *wire.Client
	mu     sync.Mutex // guards warns
	warns  []string
}

func newEnv(t *testing.T) *env { return newEnvMaxBody(t, 2048) }

// newEnvMaxBody is newEnv with another xml-request-max-size.
func newEnvMaxBody(t *testing.T, maxBody int) *env {
	t.Helper()
	var journals chat.Journals
	e := &env{engine: chat.New(chat.Options{Journal: &journals})}
	langs, _, err := config.Parse("esp.ini", []byte(espLanguages))
	if err != nil {
		t.Fatal(err)
	}
	e.engine.SetTimers(chat.TimerOptions{Config: func() *config.Config { return langs }, Warn: func(msg string, args ...any) {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.warns = append(e.warns, fmt.Sprint(append([]any{msg}, args...)...))
	}})
	t.Cleanup(e.engine.StopTimers)
	e.router = routing.New(routing.Options{Engine: e.engine})
	journals = append(journals, e.router)
	h := esp.New(esp.Options{Engine: e.engine, Router: e.router, Token: func() string { return token }, MaxBody: func() int { return maxBody }})
	mux := http.NewServeMux()
	h.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		e.router.Flush(ctx)
	})
	e.url = srv.URL
	e.client = wire.New(srv.URL, token, srv.Client())
	return e
}

func (e *env) session(t *testing.T, async bool) (*chat.Session, chat.Participant) {
	t.Helper()
	s, p, _, err := e.engine.Create(chat.CreateRequest{Tenant: "1", Endpoint: "default", Queue: "q", Async: async,
		Creator: chat.JoinRequest{Nick: "Kim", Type: chat.Client, Protocol: chat.Flex, Secret: "customer-key"}})
	if err != nil {
		t.Fatal(err)
	}
	return s, p
}

func fault(err error) *wire.Fault {
	var f *wire.Fault
	if errors.As(err, &f) {
		return f
	}
	return nil
}

func TestTokens(t *testing.T) {
	e := newEnv(t)
	s, cust := e.session(t, false)
	for _, tok := range []string{"", "wrong", cust.Secret, token + "x"} {
		for _, m := range []string{"Message", "Notice", "PlaceOnHold", "CloseSession", "GetSessionInfo", "IdleControlConfigure", "ConfigureSession", "NoSuchMethod"} {
			c := wire.New(e.url, tok, nil)
			_, err := c.Call(context.Background(), m, wire.Params{"InteractionId": s.ID(), "MessageText": "x"})
			if f := fault(err); f == nil || f.Status != http.StatusUnauthorized || f.FaultCode != wire.FaultUnauthorized {
				t.Fatalf("token %q method %s: %v, want 401 fault %d", tok, m, err, wire.FaultUnauthorized)
			}
		}
	}
	for _, path := range []string{"/esp/Chat/Message", "/esp/", "/esp/Mail/Message"} {
		resp, err := http.Get(e.url + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("GET %s without token: %d", path, resp.StatusCode)
		}
	}
	if evs, _, _, _ := s.Read(cust.UserID, 0, nil); len(evs) != 1 {
		t.Fatalf("refused requests changed the transcript: %+v", evs)
	}
}

func TestRequestShape(t *testing.T) {
	e := newEnv(t)
	s, cust := e.session(t, false)
	post := func(path, body string, method string) (int, wire.Fault) {
		req, _ := http.NewRequest(method, e.url+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var f wire.Fault
		decodeJSON(t, resp, &f)
		return resp.StatusCode, f
	}
	id := s.ID()
	tests := []struct {
		name, method, path, body string
		status, code             int
		param                    string
	}{
		{"unknown method", "POST", "/esp/Chat/Dance", `{}`, 404, wire.FaultUnknownMethod, ""},
		{"unknown service", "POST", "/esp/Mail/Message", `{}`, 404, wire.FaultUnknownService, ""},
		{"too deep", "POST", "/esp/Chat/Message/x", `{}`, 404, wire.FaultUnknownMethod, ""},
		{"GET", "GET", "/esp/Chat/Message", ``, 405, wire.FaultMethodNotAllowed, ""},
		{"malformed JSON", "POST", "/esp/Chat/Message", `{"InteractionId":`, 400, wire.FaultBadRequest, ""},
		{"not an object", "POST", "/esp/Chat/Message", `["a"]`, 400, wire.FaultBadRequest, ""},
		{"trailing data", "POST", "/esp/Chat/Message", `{} {}`, 400, wire.FaultBadRequest, ""},
		{"a stray closing brace after the object", "POST", "/esp/Chat/Message", `{"InteractionId":"x"}}`, 400, wire.FaultBadRequest, ""},
		{"number parameter", "POST", "/esp/Chat/Message", `{"InteractionId":"` + id + `","MessageText":5}`, 400, wire.FaultInvalidParameter, "MessageText"},
		{"object parameter", "POST", "/esp/Chat/Message", `{"InteractionId":"` + id + `","MessageText":{"a":"b"}}`, 400, wire.FaultInvalidParameter, "MessageText"},
		{"oversized", "POST", "/esp/Chat/Message", `{"InteractionId":"` + id + `","MessageText":"` + strings.Repeat("x", 3000) + `"}`, 413, wire.FaultTooLarge, ""},
		{"no interaction", "POST", "/esp/Chat/GetSessionInfo", `{}`, 400, wire.FaultMissingParameter, "InteractionId"},
		{"unknown interaction", "POST", "/esp/Chat/GetSessionInfo", `{"InteractionId":"nope"}`, 404, wire.FaultUnknownInteraction, "InteractionId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, f := post(tt.path, tt.body, tt.method)
			if status != tt.status || f.FaultCode != tt.code || f.Parameter != tt.param || f.FaultString == "" {
				t.Fatalf("got %d %+v, want %d fault %d parameter %q", status, f, tt.status, tt.code, tt.param)
			}
		})
	}
	if evs, _, _, _ := s.Read(cust.UserID, 0, nil); len(evs) != 1 {
		t.Fatalf("refused requests changed the transcript: %+v", evs)
	}
}

func TestMessageAndNotice(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	s, cust := e.session(t, false)
	agent, _, err := s.Join(chat.JoinRequest{Nick: "Alice", Type: chat.Agent, Protocol: chat.Basic})
	if err != nil {
		t.Fatal(err)
	}
	r, err := e.client.Message(ctx, s.ID(), "An agent will be with you shortly", wire.Params{"Nickname": "Greeter", "MessageType": "greeting"})
	if err != nil {
		t.Fatal(err)
	}
	if r.ScriptPos == nil || r.OccuredAt == "" {
		t.Fatalf("reply = %+v", r)
	}
	if _, err := time.Parse(wire.TimeFormat, r.OccuredAt); err != nil {
		t.Fatalf("OccuredAt %q: %v", r.OccuredAt, err)
	}
	evs, _, _, _ := s.Read(cust.UserID, 0, nil)
	msg := evs[len(evs)-1]
	if msg.Pos != *r.ScriptPos || msg.Kind != chat.Message || msg.From.Type != chat.External || msg.From.Nick != "Greeter" || msg.MsgType != "greeting" {
		t.Fatalf("message event = %+v", msg)
	}
	var party chat.Participant
	for _, p := range s.Info().Participants {
		if p.Type == chat.External {
			party = p
		}
	}
	if party.Protocol != chat.ESP || party.Nick != "Greeter" {
		t.Fatalf("workflow party = %+v", party)
	}
	// The same nickname reuses the party; attributes in both forms nest.
	for _, attrs := range []string{
		`{"structured-content":{"genesys-chat":{"content":"{\"type\":\"Message\"}","type":"Generic"}}}`,
		`structured-content.genesys-chat.type:Generic|structured-content.genesys-chat.content:{"type":"Message"}`,
	} {
		r, err := e.client.Message(ctx, s.ID(), "fallback", wire.Params{"Nickname": "Greeter", "EventAttributes": attrs})
		if err != nil {
			t.Fatalf("EventAttributes %s: %v", attrs, err)
		}
		ev := lastEvent(t, s, cust.UserID)
		if ev.Pos != *r.ScriptPos || ev.Attrs.Sub("structured-content").Sub("genesys-chat").String("type") != "Generic" ||
			ev.Attrs.Sub("structured-content").Sub("genesys-chat").String("content") != `{"type":"Message"}` {
			t.Fatalf("attributes = %v", ev.Attrs)
		}
	}
	// The attributes may also be sent as a JSON object.
	if _, err := e.client.CallRaw(ctx, "Message", []byte(`{"InteractionId":"`+s.ID()+`","MessageText":"x","EventAttributes":{"a":{"b":"c"}}}`)); err != nil {
		t.Fatal(err)
	}
	if ev := lastEvent(t, s, cust.UserID); ev.Attrs.Sub("a").String("b") != "c" {
		t.Fatalf("object attributes = %v", ev.Attrs)
	}
	externals := 0
	for _, p := range s.Info().Participants {
		if p.Type == chat.External {
			externals++
		}
	}
	if externals != 2 { // Greeter and the default "workflow"
		t.Fatalf("%d workflow parties, want 2", externals)
	}
	// Coaching from the workflow: the agent sees it, the customer does not.
	r, err = e.client.Message(ctx, s.ID(), "VIP customer", wire.Params{"Visibility": "INT"})
	if err != nil {
		t.Fatal(err)
	}
	if ev := lastEvent(t, s, cust.UserID); ev.Pos == *r.ScriptPos {
		t.Fatal("the customer sees an INT message")
	}
	if ev := lastEvent(t, s, agent.UserID); ev.Pos != *r.ScriptPos {
		t.Fatal("the agent does not see an INT message")
	}
	if _, err := e.client.Message(ctx, s.ID(), "supervisors only", wire.Params{"Visibility": "VIP"}); err != nil {
		t.Fatal(err)
	}
	if ev := lastEvent(t, s, agent.UserID); ev.Text == "supervisors only" {
		t.Fatal("an agent sees a VIP message")
	}
	// Notices.
	r, err = e.client.Notice(ctx, s.ID(), "USER_PUSHED_URL", "https://example.com/help", nil)
	if err != nil {
		t.Fatal(err)
	}
	if ev := lastEvent(t, s, cust.UserID); ev.Pos != *r.ScriptPos || ev.Notice != chat.PushURL || ev.Text != "https://example.com/help" {
		t.Fatalf("push URL event = %+v", ev)
	}
	if _, err := e.client.Notice(ctx, s.ID(), "USER_CUSTOM", "anything", wire.Params{"EventAttributes": "k:v"}); err != nil {
		t.Fatal(err)
	}
	if ev := lastEvent(t, s, cust.UserID); ev.Notice != chat.CustomNotice || ev.Attrs.String("k") != "v" {
		t.Fatalf("custom notice = %+v", ev)
	}

	before := len(readAll(s, agent.UserID))
	bad := []struct {
		name   string
		method string
		p      wire.Params
		code   int
		param  string
	}{
		{"no text", "Message", wire.Params{}, wire.FaultMissingParameter, "MessageText"},
		{"empty text", "Message", wire.Params{"MessageText": ""}, wire.FaultMissingParameter, "MessageText"},
		{"bad visibility", "Message", wire.Params{"MessageText": "x", "Visibility": "EVERYONE"}, wire.FaultInvalidParameter, "Visibility"},
		{"bad list attributes", "Message", wire.Params{"MessageText": "x", "EventAttributes": "a:1|oops"}, wire.FaultInvalidParameter, "EventAttributes"},
		{"bad JSON attributes", "Message", wire.Params{"MessageText": "x", "EventAttributes": `{"a":`}, wire.FaultInvalidParameter, "EventAttributes"},
		{"attributes with a line break", "Notice", wire.Params{"NoticeType": "USER_CUSTOM", "EventAttributes": "a:1\nb:2"}, wire.FaultInvalidParameter, "EventAttributes"},
		{"no notice type", "Notice", wire.Params{"NoticeText": "x"}, wire.FaultMissingParameter, "NoticeType"},
		{"typing is not for workflows", "Notice", wire.Params{"NoticeType": "TYPING_STARTED"}, wire.FaultInvalidParameter, "NoticeType"},
		{"pushed URL not a URL", "Notice", wire.Params{"NoticeType": "USER_PUSHED_URL", "NoticeText": "help page"}, wire.FaultInvalidParameter, "NoticeText"},
		{"bad notice visibility", "Notice", wire.Params{"NoticeType": "USER_CUSTOM", "Visibility": "int "}, wire.FaultInvalidParameter, "Visibility"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			tt.p["InteractionId"] = s.ID()
			_, err := e.client.Call(ctx, tt.method, tt.p)
			if f := fault(err); f == nil || f.Status != 400 || f.FaultCode != tt.code || f.Parameter != tt.param {
				t.Fatalf("%v, want 400 fault %d parameter %s", err, tt.code, tt.param)
			}
		})
	}
	if after := len(readAll(s, agent.UserID)); after != before {
		t.Fatalf("refused requests appended %d events", after-before)
	}
	// The interaction id may come from the user data, as in the reference.
	if _, err := e.client.Call(ctx, "Message", wire.Params{"MessageText": "via user data", "UserData": "InteractionId:" + s.ID()}); err != nil {
		t.Fatal(err)
	}
	// A closed session refuses.
	s.Close(chat.CloseRequest{Reason: chat.RemovedByServer})
	_, err = e.client.Message(ctx, s.ID(), "too late", nil)
	if f := fault(err); f == nil || f.Status != 409 || f.FaultCode != wire.FaultSessionClosed {
		t.Fatalf("message to a closed session: %v", err)
	}
}

func readAll(s *chat.Session, userID string) []chat.Event {
	evs, _, _, _ := s.Read(userID, 0, nil)
	return evs
}

func lastEvent(t *testing.T, s *chat.Session, userID string) chat.Event {
	t.Helper()
	evs := readAll(s, userID)
	return evs[len(evs)-1]
}

func TestPlaceOnHold(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a, _ := e.session(t, true)
	if _, err := e.client.PlaceOnHold(ctx, a.ID()); err != nil {
		t.Fatal(err)
	}
	v, _ := e.router.Get(a.ID())
	if v.AsyncStatus != routing.AsyncOnHold || v.UserData.String(routing.KeyAsyncStatus) != "-2" {
		t.Fatalf("after PlaceOnHold: %+v", v)
	}
	r, _ := e.session(t, false)
	_, err := e.client.PlaceOnHold(ctx, r.ID())
	if f := fault(err); f == nil || f.Status != 409 || f.FaultCode != wire.FaultNotAsync {
		t.Fatalf("PlaceOnHold of a regular chat: %v", err)
	}
	if v, _ := e.router.Get(r.ID()); v.AsyncStatus != 0 {
		t.Fatalf("regular chat got async status %d", v.AsyncStatus)
	}
}

func TestCloseSession(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tests := []struct {
		name       string
		agent      bool
		p          wire.Params
		wantClosed bool
		purged     bool
	}{
		{"plain", true, wire.Params{}, true, false},
		{"if no agents, agent present", true, wire.Params{"CloseIfNoAgents": "true"}, false, false},
		{"if no agents, none present", false, wire.Params{"CloseIfNoAgents": "true"}, true, false},
		{"only true is true", true, wire.Params{"CloseIfNoAgents": "TRUE"}, true, false},
		{"purge", true, wire.Params{"Purge": "true"}, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, cust := e.session(t, false)
			if tt.agent {
				s.Join(chat.JoinRequest{Nick: "A", Type: chat.Agent, Protocol: chat.Basic})
			}
			tt.p["InteractionId"] = s.ID()
			r, err := e.client.Call(ctx, "CloseSession", tt.p)
			if err != nil {
				t.Fatal(err)
			}
			want := map[bool]int{false: 0, true: 1}[tt.wantClosed]
			if r.IsClosed == nil || *r.IsClosed != want || r.OccuredAt == "" {
				t.Fatalf("reply %+v, want IsClosed %d", r, want)
			}
			if got := s.State() == chat.Closed; got != tt.wantClosed {
				t.Fatalf("session closed = %v", got)
			}
			evs := readAll(s, cust.UserID)
			last := evs[len(evs)-1]
			switch {
			case tt.purged:
				if _, err := e.engine.Get(s.ID()); err == nil {
					t.Fatal("purged session still registered")
				}
				if last.Kind == chat.PartyLeft {
					t.Fatal("purge ran closing actions")
				}
				if _, err := e.router.Get(s.ID()); err == nil {
					t.Fatal("purged interaction still routed")
				}
			case tt.wantClosed:
				if last.Kind != chat.PartyLeft || last.Reason != chat.RemovedByServer {
					t.Fatalf("last event %+v, want partyLeft reason 5", last)
				}
				again, err := e.client.CloseSession(ctx, s.ID(), false, false)
				if err != nil || !again {
					t.Fatalf("closing a closed session: %v %v", again, err)
				}
			}
		})
	}
}

func TestGetSessionInfo(t *testing.T) {
	e := newEnv(t)
	s, _ := e.session(t, false)
	info, err := e.client.GetSessionInfo(context.Background(), s.ID())
	if err != nil {
		t.Fatal(err)
	}
	if info.CreatedAt != s.CreatedAt().UTC().Format(wire.TimeFormat) || info.IsRestored != 0 {
		t.Fatalf("SessionInfo = %+v", info)
	}
	if _, err := e.client.Call(context.Background(), "GetSessionInfo", wire.Params{"InteractionId": s.ID(), "InduceRestore": "true"}); err != nil {
		t.Fatalf("InduceRestore: %v", err)
	}
}

func TestIdleControlConfigure(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	s, _ := e.session(t, false)
	if _, err := e.client.IdleControlConfigure(ctx, s.ID(), wire.Params{"enabled": "true", "timeout-alert": "60", "timeout-close": "30",
		"message-alert": "Still there?", "include-notices": "all", "timeout-alert2": "0"}); err != nil {
		t.Fatal(err)
	}
	ic := s.IdleControl()
	if ic.Enabled == nil || !*ic.Enabled || *ic.TimeoutAlert != time.Minute || *ic.TimeoutClose != 30*time.Second ||
		*ic.MessageAlert != "Still there?" || *ic.IncludeNotices != "all" || *ic.TimeoutAlert2 != 0 {
		t.Fatalf("idle control = %+v", ic)
	}
	if _, err := e.client.IdleControlConfigure(ctx, s.ID(), wire.Params{"enabled": "yes"}); err != nil {
		t.Fatal(err)
	}
	if ic := s.IdleControl(); *ic.Enabled {
		t.Fatal(`enabled=yes read as true; only "true" is true`)
	}
	if _, err := e.client.IdleControlConfigure(ctx, s.ID(), wire.Params{"reset-parameters": "true"}); err != nil {
		t.Fatal(err)
	}
	if ic := s.IdleControl(); ic.Enabled != nil || ic.TimeoutAlert != nil {
		t.Fatalf("after reset-parameters: %+v", ic)
	}
	bad := []struct {
		p     wire.Params
		code  int
		param string
	}{
		{wire.Params{}, wire.FaultMissingParameter, ""},
		{wire.Params{"timeout-alert": "soon"}, wire.FaultInvalidParameter, "timeout-alert"},
		{wire.Params{"timeout-close": "0"}, wire.FaultInvalidParameter, "timeout-close"},
		{wire.Params{"timeout-alert2": "86401"}, wire.FaultInvalidParameter, "timeout-alert2"},
		{wire.Params{"include-notices": "some", "enabled": "true"}, wire.FaultInvalidParameter, "include-notices"},
	}
	for _, tt := range bad {
		_, err := e.client.IdleControlConfigure(ctx, s.ID(), tt.p)
		if f := fault(err); f == nil || f.Status != 400 || f.FaultCode != tt.code || f.Parameter != tt.param {
			t.Fatalf("%v: %v, want fault %d parameter %q", tt.p, err, tt.code, tt.param)
		}
	}
	if ic := s.IdleControl(); ic.Enabled != nil {
		t.Fatal("a refused request changed the idle control")
	}
}

func TestConfigureSession(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	s, _ := e.session(t, true)
	tests := []struct {
		p    wire.Params
		lang string
	}{
		{wire.Params{"GCTI_LanguageCode": "fr_ca"}, "french-canada"},
		{wire.Params{"GCTI_LanguageCode": "de-AT"}, "german"},
		{wire.Params{"GCTI_LanguageCode": "fr-CA", "GCTI_LanguageName": "English"}, "English"},
		{wire.Params{"GCTI_LanguageName": "klingon"}, ""}, // unknown: the defaults, with a warning
		{wire.Params{"GCTI_LanguageName": "English"}, "English"},
	}
	for _, tt := range tests {
		if _, err := e.client.ConfigureSession(ctx, s.ID(), tt.p); err != nil {
			t.Fatal(err)
		}
		if got := s.Info().Language; got != tt.lang {
			t.Fatalf("%v: language %q, want %q", tt.p, got, tt.lang)
		}
	}
	if _, err := e.client.ConfigureSession(ctx, s.ID(), wire.Params{"async-idle-reset": "1"}); err != nil {
		t.Fatal(err)
	}
	e.mu.Lock()
	warns := slices.Clone(e.warns)
	e.mu.Unlock()
	if len(warns) != 1 || !strings.Contains(warns[0], s.ID()) || !strings.Contains(warns[0], "klingon") {
		t.Errorf("warnings %q, want one naming the session and klingon", warns)
	}
	bad := []struct {
		p     wire.Params
		code  int
		param string
	}{
		{wire.Params{}, wire.FaultMissingParameter, ""},
		{wire.Params{"GCTI_LanguageCode": "english please"}, wire.FaultInvalidParameter, "GCTI_LanguageCode"},
		{wire.Params{"GCTI_LanguageName": " "}, wire.FaultInvalidParameter, "GCTI_LanguageName"},
	}
	for _, tt := range bad {
		_, err := e.client.ConfigureSession(ctx, s.ID(), tt.p)
		if f := fault(err); f == nil || f.FaultCode != tt.code || f.Parameter != tt.param {
			t.Fatalf("%v: %v, want fault %d parameter %q", tt.p, err, tt.code, tt.param)
		}
	}
	if got := s.Info().Language; got != "English" {
		t.Fatalf("a refused request changed the language to %q", got)
	}
}

func decodeJSON(t *testing.T, resp *http.Response, v any) {
	t.Helper()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("decode %d answer: %v", resp.StatusCode, err)
	}
}

func TestMain(m *testing.M) { leakcheck.Main(m) }

const espLanguages = `
[language:french-canada]
language = fr
country = CA
[language:german]
language = de
use-language-as-default = true
[language:English]
language = en
`
