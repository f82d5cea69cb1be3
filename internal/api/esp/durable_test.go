package esp_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	wire "github.com/confab/confab/client/esp"
	"github.com/confab/confab/internal/api/esp"
	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/routing"
)

// failingJournal makes every appended event fail to become durable.
type failingJournal struct{}

type failedWait struct{}

func (failedWait) Wait(context.Context) error { return errors.New("disk on fire") }

func (failingJournal) SessionCreated(*chat.Info) chat.Waiter         { return nil }
func (failingJournal) SessionUpdated(*chat.Info) chat.Waiter         { return nil }
func (failingJournal) EventAppended(string, *chat.Event) chat.Waiter { return failedWait{} }
func (failingJournal) SessionClosed(*chat.Final) chat.Waiter         { return nil }

// TestStoreFailureIsAFault checks that a message the store does not
// confirm is answered with the storage fault (HTTP 503), and one it
// confirms (no journal to wait for) with the reply.
func TestStoreFailureIsAFault(t *testing.T) {
	for _, failing := range []bool{false, true} {
		var journals chat.Journals
		if failing {
			journals = append(journals, failingJournal{})
		}
		engine := chat.New(chat.Options{Journal: &journals})
		router := routing.New(routing.Options{Engine: engine})
		h := esp.New(esp.Options{Engine: engine, Router: router, Token: func() string { return token }})
		mux := http.NewServeMux()
		h.Register(mux)
		srv := httptest.NewServer(mux)
		s, _, _, err := engine.Create(chat.CreateRequest{Tenant: "1", Endpoint: "default", Queue: "q",
			Creator: chat.JoinRequest{Nick: "Kim", Type: chat.Client, Protocol: chat.Flex, Secret: "customer-key"}})
		if err != nil {
			t.Fatal(err)
		}
		client := wire.New(srv.URL, token, srv.Client())
		reply, err := client.Call(context.Background(), "Message", wire.Params{"InteractionId": s.ID(), "MessageText": "hello"})
		var f *wire.Fault
		switch {
		case failing && (!errors.As(err, &f) || f.FaultCode != wire.FaultStorage):
			t.Errorf("failing store: got %v, %+v; want the storage fault", err, reply)
		case !failing && (err != nil || reply.ScriptPos == nil):
			t.Errorf("working store: got %v, %+v; want a reply with its position", err, reply)
		}
		srv.Close()
		engine.StopTimers()
	}
}
