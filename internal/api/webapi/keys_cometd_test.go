package webapi_test

import (
	"testing"

	"github.com/confab/confab/internal/api/webapi"
	"github.com/confab/confab/internal/chat"
)

// TestAdoptKey: a chat the key index does not know (created on the engine
// alone, as a restoration does) is found by its customer's key once
// adopted, and only by it: another key, an agent's party, a chat this node
// does not hold or no key at all are not adopted, and adopting the key
// again for another chat fails. IndexKeys indexes a restored chat's
// customer keys.
func TestAdoptKey(t *testing.T) {
	h := startAPI(t, nil, nil, webapi.Options{})
	const key = "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
	s, _, _, err := h.engine.Create(chat.CreateRequest{Tenant: "1", Endpoint: "default", Queue: "q",
		Creator: chat.JoinRequest{Nick: "Kay", Type: chat.Client, Protocol: chat.Flex, Secret: key}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Join(chat.JoinRequest{Nick: "Agent", Type: chat.Agent, Protocol: chat.Basic, Secret: "agent-secret"}); err != nil {
		t.Fatal(err)
	}
	if h.api.KnowsKey(key) {
		t.Fatal("the index knows the key of a chat created on the engine alone")
	}
	for _, c := range []struct{ key, chat string }{
		{"other", s.ID()}, {"agent-secret", s.ID()}, {key, "no-such-chat"}, {"", s.ID()}, {key, ""},
	} {
		if h.api.AdoptKey(c.key, c.chat) {
			t.Errorf("AdoptKey(%q, %q) = true", c.key, c.chat)
		}
	}
	if h.api.KnowsKey(key) || h.api.KnowsKey("other") || h.api.KnowsKey("agent-secret") {
		t.Fatal("a refused adoption entered the index")
	}
	if !h.api.AdoptKey(key, s.ID()) || !h.api.KnowsKey(key) {
		t.Fatal("the customer's key was not adopted")
	}
	if !h.api.AdoptKey(key, s.ID()) || h.api.AdoptKey(key, "another-chat") {
		t.Error("adopting the known key again: want true for its chat and false for another")
	}
	s2, _, _, err := h.engine.Create(chat.CreateRequest{Tenant: "1", Endpoint: "default", Queue: "q",
		Creator: chat.JoinRequest{Nick: "Lou", Type: chat.Client, Protocol: chat.Flex, Secret: "restored-key"}})
	if err != nil {
		t.Fatal(err)
	}
	if n := h.api.IndexKeys(s2.ID()); n != 1 || !h.api.KnowsKey("restored-key") {
		t.Errorf("IndexKeys indexed %d keys, want the customer's (1)", n)
	}
	if n := h.api.IndexKeys("no-such-chat"); n != 0 {
		t.Errorf("IndexKeys of no chat indexed %d", n)
	}
	r := h.api.Call(ctxT(t), webapi.Call{Operation: "send", Fields: []webapi.Field{{"secureKey", key}, {"message", "hi"}}})
	if r.HTTPStatus != 200 || r.ChatID != s.ID() {
		t.Errorf("key-only send after the adoption: %s", r)
	}
}
