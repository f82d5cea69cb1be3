package cometd_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/confab/confab/internal/config"
)

// TestChatCreationRateOverCometD checks that chats started over Bayeux are
// charged to the client's chat-create-rate as REST's are, on both
// transports.
func TestChatCreationRateOverCometD(t *testing.T) {
	for _, ws := range []bool{false, true} {
		h := start(t, setup{})
		cfg, _, err := config.Parse("t.ini", []byte("[protection]\nchat-create-rate = 1\nchat-create-burst = 2\n"))
		if err != nil {
			t.Fatal(err)
		}
		h.cfg.Store(cfg)
		b := h.client()
		if ws {
			b.dial()
		}
		b.handshake()
		b.connect()
		var answers []string
		for range 3 {
			b.publish(msg{"operation": "requestChat", "nickname": "Ann"})
			for _, d := range deliveries(b.connect(), chatCh) {
				j, _ := json.Marshal(d)
				answers = append(answers, string(j))
			}
		}
		if len(answers) != 3 || strings.Contains(answers[1], `"code":429`) || !strings.Contains(answers[2], `"code":429`) {
			t.Errorf("websocket %v: answers %v, want two chats then a 429", ws, answers)
		}
	}
}
