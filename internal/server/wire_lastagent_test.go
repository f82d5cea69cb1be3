package server_test

import (
	"context"
	"testing"
	"time"

	wire "github.com/confab/confab/client/agent"
	"github.com/confab/confab/client/chatv2"
)

// TestLastAgentThroughNode checks the last-agent preference through a whole
// node and its SQLite store: a returning customer (the same e-mail, so the
// same contact) is offered first to the agent of the previous chat, who
// became ready after another agent (whom the queue alone would pick). The
// look-up learns the new session's contact from the history
// (routing.Options.LastAgentOf) instead of reading its record.
func TestLastAgentThroughNode(t *testing.T) {
	n := startE2E(t, t.TempDir(), "")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cust := chatv2.New(n.chatURL, chatv2.Options{})
	defer cust.CloseIdleConnections()
	req := chatv2.ChatRequest{Nickname: "Kim", EmailAddress: "kim.returning@example.com"}
	first, _, err := cust.RequestChat(ctx, "customer-support", req)
	if err != nil {
		t.Fatal(err)
	}
	ann := n.dial(t, "tok-ann")
	if _, err := ann.Accept(ctx, first.ID, wire.JoinOptions{}); err != nil {
		t.Fatal(err)
	}
	if rel, err := ann.Release(ctx, first.ID, "FORCE_CLOSE", ""); err != nil || !rel.Closed {
		t.Fatalf("release = %+v, %v", rel, err)
	}
	ben := n.dial(t, "tok-ben")
	if err := ben.SetState(ctx, wire.StateReady, ""); err != nil {
		t.Fatal(err)
	}
	if err := ann.SetState(ctx, wire.StateReady, ""); err != nil {
		t.Fatal(err)
	}
	var second *chatv2.Chat
	until(t, "the first chat's closed record (the look-up reads it)", func() bool {
		var rec record
		return n.getJSON(t, "/api/v1/interactions/"+first.ID, n.adminToken, &rec) == 200 && rec.Status == "closed"
	})
	second, _, err = cust.RequestChat(ctx, "customer-support", req)
	if err != nil {
		t.Fatal(err)
	}
	f := waitOffer(t, ann, second.ID)
	if f.OfferKind != wire.OfferLastAgent {
		t.Errorf("ann's offer of the returning chat has kind %q, want %q", f.OfferKind, wire.OfferLastAgent)
	}
	noOffer(t, ben, "ben")
}
