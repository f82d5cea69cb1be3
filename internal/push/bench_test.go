package push_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/config"
	"github.com/confab/confab/internal/push"
)

// BenchmarkEventAppended measures what push costs the message path: the
// journal call under the session's lock, for a session without a
// subscription and for a subscribed one (copy and queue; the POSTs run on
// the sender).
func BenchmarkEventAppended(b *testing.B) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer ts.Close()
	cfg, _, err := config.Parse("b.ini", []byte(fmt.Sprintf("[settings]\nflex-push-enabled = true\nflex-push-on-join = true\n[push]\ncustomhttp.url = %s\nqueue-size = 1000000\n", ts.URL)))
	if err != nil {
		b.Fatal(err)
	}
	for _, subscribed := range []bool{false, true} {
		b.Run(fmt.Sprintf("subscribed=%v", subscribed), func(b *testing.B) {
			svc := push.New(push.Options{Config: func() *config.Config { return cfg }, Clock: clock.Real()})
			defer svc.Close(b.Context())
			e := chat.New(chat.Options{Journal: svc})
			ud := map[string]any{}
			if subscribed {
				ud = map[string]any{push.KeySubscribe: "true", push.KeyDeviceID: "d"}
			}
			s, _, _, err := e.Create(chat.CreateRequest{UserData: ud, Creator: chat.JoinRequest{Nick: "Ann", Type: chat.Client, Protocol: chat.Flex}})
			if err != nil {
				b.Fatal(err)
			}
			ev := &chat.Event{Pos: 5, Kind: chat.Message, Text: "hello", Time: time.Now(), From: chat.Party{UserID: "agent", Type: chat.Agent}}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				svc.EventAppended(s.ID(), ev)
			}
		})
	}
}
