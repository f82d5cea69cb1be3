package config_test

import (
	"testing"
	"time"

	"github.com/confab/confab/internal/config"
)

func TestRoutingSections(t *testing.T) {
	for _, tc := range []struct {
		name, ini     string
		offer, last   time.Duration
		salesBot, vip bool
		wantErr       bool
	}{
		{name: "defaults", ini: "", offer: 15 * time.Second, last: 20 * time.Second},
		{name: "set", ini: "[routing]\noffer-timeout = 5\nlast-agent-timeout = 0\n[routing:sales]\nbot-first = true\n[routing:vip]\nbot-first = false\n",
			offer: 5 * time.Second, last: 0, salesBot: true},
		{name: "offer-timeout 0 out of range", ini: "[routing]\noffer-timeout = 0\n", wantErr: true},
		{name: "bad bool", ini: "[routing:sales]\nbot-first = maybe\n", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _, err := config.Parse("test.ini", []byte(tc.ini))
			if tc.wantErr {
				if err == nil {
					t.Fatal("Parse accepted it")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Routing.OfferTimeout != tc.offer || c.Routing.LastAgentTimeout != tc.last {
				t.Errorf("routing = %+v", c.Routing)
			}
			if c.BotFirst("sales") != tc.salesBot || c.BotFirst("vip") != tc.vip || c.BotFirst("other") {
				t.Errorf("bot-first sales=%v vip=%v other=%v", c.BotFirst("sales"), c.BotFirst("vip"), c.BotFirst("other"))
			}
		})
	}
}
