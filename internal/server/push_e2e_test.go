package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	wire "github.com/confab/confab/client/agent"
	"github.com/confab/confab/client/chatv2"
)

// TestPushEndToEnd runs a node whose customer subscribes at Request Chat
// with reliable delivery: an agent's message makes the node POST a
// PushUrl trigger to a 127.0.0.1 server, and the customer's refresh
// acknowledges it (the node's push stats show it).
func TestPushEndToEnd(t *testing.T) {
	var mu sync.Mutex
	var got []map[string]any
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m map[string]any
		json.Unmarshal(b, &m)
		mu.Lock()
		got = append(got, m)
		mu.Unlock()
	}))
	defer rcv.Close()
	n := startE2E(t, t.TempDir(), fmt.Sprintf("[settings]\nflex-push-enabled = true\nflex-push-on-join = true\nflex-push-resend-delay = 3600\n[push]\ncustomhttp.url = %s/push\n", rcv.URL))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cc := chatv2.New(n.chatURL, chatv2.Options{})
	defer cc.CloseIdleConnections()
	c, _, err := cc.RequestChat(ctx, "customer-support", chatv2.ChatRequest{Nickname: "Ann", UserData: map[string]string{
		"GCTI_Chat_PushSubscribe": "true", "GCTI_GMS_PushDeviceId": "phone-1", "GCTI_GMS_PushDeviceType": "customhttp",
		"GCTI_GMS_PushIncludePayload": "true", "GCTI_GMS_PushResend": "true",
	}})
	if err != nil {
		t.Fatal(err)
	}
	alice := n.dial(t, "tok-alice")
	if _, err := alice.Accept(ctx, c.ID, wire.JoinOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Send(ctx, c.ID, wire.Message{Text: "are you there?"}); err != nil {
		t.Fatal(err)
	}
	until(t, "the push trigger", func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 1 })
	mu.Lock()
	first := got[0]
	mu.Unlock()
	msg := first["message"].(map[string]any)
	ev := msg["messages"].([]any)[0].(map[string]any)
	ud := ev["userData"].(map[string]any)
	if first["deviceId"] != "phone-1" || ev["type"] != "PushUrl" || ev["from"].(map[string]any)["participantId"] != 0.0 ||
		ud["notify-position"] != "2" || ud["session-id"] != c.ID || ud["user-id"] != c.UserID {
		t.Fatalf("trigger %v", first)
	}
	if st := n.srv.PushStats(); st.Pending != 1 {
		t.Fatalf("push stats before the refresh %+v", st)
	}
	if _, err := c.Refresh(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if st := n.srv.PushStats(); st.Pending != 0 || st.Acked != 1 || st.Delivered != 1 {
		t.Fatalf("push stats after the refresh %+v", st)
	}
	resp, err := http.Get(n.agentURL + "/Counters")
	if err != nil {
		t.Fatal(err)
	}
	var counters map[string]int64
	json.NewDecoder(resp.Body).Decode(&counters)
	resp.Body.Close()
	if counters["push_delivered"] != 1 || counters["push_subscribed"] != 1 || counters["push_pending"] != 0 {
		t.Fatalf("/Counters push figures: delivered %d, subscribed %d, pending %d", counters["push_delivered"], counters["push_subscribed"], counters["push_pending"])
	}
}
