package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	wire "github.com/confab/confab/client/agent"
	"github.com/confab/confab/client/chatv2"
)

// console reads GET /agent/v1/console with a token.
func (n *e2eNode) console(t *testing.T, token string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("GET", n.agentURL+"/agent/v1/console", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

// TestConsolePicture: a supervisor's console shows its queue with the
// waiting chat and its oldest wait, the logged-in agent with its state,
// load and capacity, the live chat with the agent in it once accepted, and
// the node's KPI figures; an agent's token is refused.
func TestConsolePicture(t *testing.T) {
	n := startE2E(t, t.TempDir(), "")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ann := n.dial(t, "tok-ann")
	nextFrame(t, ann, wire.FrameState)
	cust := chatv2.New(n.chatURL, chatv2.Options{})
	defer cust.CloseIdleConnections()
	ch, _, err := cust.RequestChat(ctx, "customer-support", chatv2.ChatRequest{Nickname: "Kim", Subject: "late order",
		UserData: map[string]string{"FirstName": "Kim", "LastName": "Lee"}})
	if err != nil {
		t.Fatal(err)
	}

	code, m := n.console(t, "tok-sue")
	if code != 200 || m["supervisor"] != "sue" {
		t.Fatalf("console = %d %v", code, m)
	}
	queues, _ := m["queues"].([]any)
	if len(queues) != 1 {
		t.Fatalf("queues %v", m["queues"])
	}
	q := queues[0].(map[string]any)
	if q["name"] != "default" || q["waiting"] != 1.0 || q["oldestSince"] == nil || q["agents"] != 1.0 || q["available"] != 0.0 {
		t.Fatalf("queue %v", q)
	}
	agents, _ := m["agents"].([]any)
	if len(agents) != 1 || agents[0].(map[string]any)["id"] != "ann" || agents[0].(map[string]any)["state"] != "not-ready" ||
		agents[0].(map[string]any)["capacity"] != 1.0 || agents[0].(map[string]any)["name"] != "Ann" {
		t.Fatalf("agents %v", m["agents"])
	}
	ixs, _ := m["interactions"].([]any)
	if len(ixs) != 1 || ixs[0].(map[string]any)["id"] != ch.ID || ixs[0].(map[string]any)["state"] != "queued" ||
		ixs[0].(map[string]any)["customer"] != "Kim Lee" {
		t.Fatalf("interactions %v", m["interactions"])
	}
	figures := map[string]float64{}
	for _, f := range m["kpi"].([]any) {
		f := f.(map[string]any)
		if f["description"] == "" {
			t.Errorf("figure %v has no description", f)
		}
		figures[f["name"].(string)] = f["value"].(float64)
	}
	if figures["session_current"] != 1 {
		t.Fatalf("kpi session_current = %v of %v", figures["session_current"], figures)
	}

	if err := ann.SetState(ctx, wire.StateReady, ""); err != nil {
		t.Fatal(err)
	}
	waitOffer(t, ann, ch.ID)
	if _, err := ann.Accept(ctx, ch.ID, wire.JoinOptions{}); err != nil {
		t.Fatal(err)
	}
	_, m = n.console(t, "tok-sue")
	q = m["queues"].([]any)[0].(map[string]any)
	ix := m["interactions"].([]any)[0].(map[string]any)
	a := m["agents"].([]any)[0].(map[string]any)
	if q["waiting"] != 0.0 || ix["state"] != "assigned" || ix["agentId"] != "ann" || a["load"] != 1.0 || a["state"] != "ready" {
		t.Fatalf("after the accept: queue %v, chat %v, agent %v", q, ix, a)
	}
	if agentsIn, _ := ix["agents"].([]any); len(agentsIn) != 1 || agentsIn[0] != "ann" {
		t.Fatalf("agents in the chat %v", ix["agents"])
	}

	if code, m := n.console(t, "tok-ann"); code != 403 || m["code"] != "forbidden" {
		t.Fatalf("agent token = %d %v", code, m)
	}
	if code, _ := n.console(t, "nope"); code != 401 {
		t.Fatalf("bad token = %d", code)
	}
	if code, m := n.console(t, n.adminToken); code != 200 || len(m["interactions"].([]any)) != 1 {
		t.Fatalf("admin token = %d %v", code, m)
	}
}
