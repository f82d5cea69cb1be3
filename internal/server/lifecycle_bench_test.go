package server_test

import (
	"context"
	"testing"
	"time"

	wire "github.com/confab/confab/client/agent"
	"github.com/confab/confab/client/chatv2"
	"github.com/confab/confab/client/esp"
)

// BenchmarkSessionLifecycle is one dense-scenario session through a whole
// node, one after another, without the customer's push socket: the
// customer requests a chat, the workflow posts a greeting (ALL) and a
// routing note (INT), an agent accepts it, agent and customer exchange 3
// messages each with one coaching note (INT) from the agent, and the agent
// releases with CLOSE_IF_NO_AGENTS, which closes the session. With
// transcript-auto-save=0 the events are not made durable; the contact
// history's records (create, close) and routing's record writes are, in
// SQLite. cpu-ns/op is the process's CPU per session (the clients'
// included; they are the same in an A/B pair), allocs/op likewise.
// Profile it with -cpuprofile / -memprofile: the server's REST handlers,
// middleware, the agent's requests, the engine, routing, history, kpi and
// statistics are in it.
//
// dense: last-agent-timeout = 0, no last-agent look-up, as in the dense
// benchmark, whose agents are logged in to no queue; last-agent: the
// default, the agent being logged in to the chat's queue, so every new
// session looks up its contact's last agent.
func BenchmarkSessionLifecycle(b *testing.B) {
	const ini = "[settings]\ntranscript-auto-save = 0\n[protection]\nparty-send-rate = 0\nchat-create-rate = 0\n"
	b.Run("dense", func(b *testing.B) { benchLifecycle(b, ini+"[routing]\nlast-agent-timeout = 0\n") })
	b.Run("last-agent", func(b *testing.B) { benchLifecycle(b, ini) })
}

func benchLifecycle(b *testing.B, ini string) {
	n := startE2E(b, b.TempDir(), ini)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cust := chatv2.New(n.chatURL, chatv2.Options{})
	defer cust.CloseIdleConnections()
	wf := esp.New(n.espURL, n.espToken, nil)
	agent := n.dial(b, "tok-alice")
	go func() { // the session's events: read, as an agent desktop does (unread, they stop the client)
		for range agent.Frames() {
		}
	}()
	line := "Hello, I have a question about my last order and the delivery date."
	lifecycle := func() {
		chat, _, err := cust.RequestChat(ctx, "customer-support", chatv2.ChatRequest{Nickname: "Kim", UserData: map[string]string{"BenchRun": "lifecycle"}})
		if err != nil {
			b.Fatal(err)
		}
		id := chat.ID
		for _, vis := range []string{"ALL", "INT"} {
			if _, err := wf.Call(ctx, esp.MethodMessage, esp.Params{"InteractionId": id, "MessageText": line, "Nickname": "Workflow", "Visibility": vis}); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := agent.Accept(ctx, id, wire.JoinOptions{}); err != nil {
			b.Fatal(err)
		}
		for i := range 3 {
			if _, err := agent.Send(ctx, id, wire.Message{Text: line}); err != nil {
				b.Fatal(err)
			}
			if i == 1 {
				if _, err := agent.Send(ctx, id, wire.Message{Text: line, Visibility: "INT"}); err != nil {
					b.Fatal(err)
				}
			}
			if _, err := chat.Send(ctx, line, nil); err != nil {
				b.Fatal(err)
			}
		}
		rel, err := agent.Release(ctx, id, "CLOSE_IF_NO_AGENTS", "")
		if err != nil || !rel.Closed {
			b.Fatalf("release = %+v, %v", rel, err)
		}
	}
	lifecycle() // connections, caches
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	for b.Loop() {
		lifecycle()
	}
	b.ReportMetric(float64((processCPU()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
}
