package agent_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/confab/confab/internal/leakcheck"

	wire "github.com/confab/confab/client/agent"
	"github.com/confab/confab/internal/api/agent"
	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/kv"
	"github.com/confab/confab/internal/routing"
	"github.com/confab/confab/internal/store"
)

// agents is an in-memory AgentStore.
type agents map[string]store.Agent // by token

func (a agents) GetAgentByTokenHash(_ context.Context, hash []byte) (store.Agent, error) {
	for tok, ag := range a {
		if string(agent.HashToken(tok)) == string(hash) {
			return ag, nil
		}
	}
	return store.Agent{}, store.ErrNotFound
}

func (a agents) GetAgent(_ context.Context, id string) (store.Agent, error) {
	for _, ag := range a {
		if ag.ID == id {
			return ag, nil
		}
	}
	return store.Agent{}, store.ErrNotFound
}

// Tokens of the test accounts.
const (
	tokAlice = "alice-token"
	tokBob   = "bob-token"
	tokSue   = "sue-token" // a supervisor
	tokBot   = "bot-token"
	tokSam   = "sam-token" // a supervisor of another queue
)

var testAgents = agents{
	tokAlice: {ID: "alice", Name: "Alice", Type: store.UserAgent, Queues: []string{"default", "q"}, Capacity: 2},
	tokBob:   {ID: "bob", Name: "Bob", Type: store.UserAgent, Queues: []string{"default", "q"}, Capacity: 1},
	tokSue:   {ID: "sue", Name: "Sue", Type: store.UserSupervisor, Queues: []string{"default", "q"}, Capacity: 1},
	tokBot:   {ID: "bot", Name: "Botty", Type: store.UserBot, Queues: []string{"default", "q"}, Capacity: 5},
	tokSam:   {ID: "sam", Name: "Sam", Type: store.UserSupervisor, Queues: []string{"vip"}, Capacity: 1},
}

type env struct {
	engine  *chat.Engine
	router  *routing.Router
	handler *agent.Handler
	srv     *httptest.Server
	url     string
}

func newEnv(t *testing.T, settings chat.Settings, tune func(*agent.Options)) *env {
	t.Helper()
	if settings == (chat.Settings{}) {
		settings = chat.DefaultSettings
	}
	var journals chat.Journals
	e := &env{engine: chat.New(chat.Options{Journal: &journals, Settings: settings})}
	e.router = routing.New(routing.Options{Engine: e.engine})
	journals = append(journals, e.router)
	opts := agent.Options{Engine: e.engine, Router: e.router, Agents: testAgents, MaxFrame: func() int { return 4096 }}
	if tune != nil {
		tune(&opts)
	}
	e.handler = agent.New(opts)
	mux := http.NewServeMux()
	e.handler.Register(mux)
	e.srv = httptest.NewServer(mux)
	e.url = e.srv.URL
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		e.handler.Shutdown(ctx)
		e.srv.Close()
		e.router.Flush(ctx)
	})
	return e
}

func (e *env) dial(t *testing.T, token string) *wire.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := wire.Dial(ctx, e.url, token, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// customer starts a session as a customer.
func (e *env) customer(t *testing.T, queue string, async bool) (*chat.Session, chat.Participant) {
	t.Helper()
	s, p, _, err := e.engine.Create(chat.CreateRequest{
		Tenant: "1", Endpoint: "default", Queue: queue, Async: async,
		UserData: kv.Map{"FirstName": "Kim"},
		Creator:  chat.JoinRequest{Nick: "Kim", Type: chat.Client, Protocol: chat.Flex, Secret: "customer-secure-key"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return s, p
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// waitEvent reads the client's frames until an event matches.
func waitEvent(t *testing.T, c *wire.Client, match func(sessionID string, ev wire.Event) bool) wire.Event {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case f, ok := <-c.Frames():
			if !ok {
				t.Fatalf("connection ended while waiting for an event: %v", c.Err())
			}
			for _, ev := range f.Events {
				if match(f.SessionID, ev) {
					return ev
				}
			}
		case <-timeout:
			t.Fatal("timed out waiting for an event")
		}
	}
}

// waitFrame reads the client's frames until one matches.
func waitFrame(t *testing.T, c *wire.Client, match func(wire.Frame) bool) wire.Frame {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case f, ok := <-c.Frames():
			if !ok {
				t.Fatalf("connection ended while waiting for a frame: %v", c.Err())
			}
			if match(f) {
				return f
			}
		case <-timeout:
			t.Fatal("timed out waiting for a frame")
		}
	}
}

// customerSees waits until the customer's view holds an event that matches.
func customerSees(t *testing.T, s *chat.Session, userID string, match func(chat.Event) bool) chat.Event {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		ch := s.Changed()
		evs, _, _, err := s.Read(userID, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			if match(ev) {
				return ev
			}
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("customer never saw the event; transcript: %+v", evs)
		}
	}
}

func codeOf(err error) int {
	if e, ok := err.(*wire.Error); ok {
		return e.Code
	}
	return -1
}

func TestMain(m *testing.M) { leakcheck.Main(m) }
