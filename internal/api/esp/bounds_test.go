package esp_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	wire "github.com/confab/confab/client/esp"
	"github.com/confab/confab/internal/chat"
)

// TestBoundsFaults checks ESP's shape of the engine's bounds: fault 40
// (HTTP 429) over party-send-rate, fault 41 (HTTP 409) once the session is
// full, and that a body nested past the limit is refused before decoding.
func TestBoundsFaults(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	st := e.engine.Settings()
	st.Bounds = chat.Bounds{Rate: 0.001, Burst: 2, MaxEvents: 3}
	e.engine.SetSettings(st)
	s, _ := e.session(t, false)
	for range 2 {
		if _, err := e.client.Message(ctx, s.ID(), "hello", nil); err != nil {
			t.Fatal(err)
		}
	}
	_, err := e.client.Message(ctx, s.ID(), "one too many", nil)
	if f := fault(err); f == nil || f.FaultCode != wire.FaultRateLimited || f.Status != http.StatusTooManyRequests {
		t.Fatalf("over the rate: %v", err)
	}
	_, err = e.client.Message(ctx, s.ID(), "from another party", wire.Params{"Nickname": "Other"})
	if err != nil {
		t.Fatalf("another workflow party: %v", err)
	}
	_, err = e.client.Message(ctx, s.ID(), "full", wire.Params{"Nickname": "Third"})
	if f := fault(err); f == nil || f.FaultCode != wire.FaultSessionFull || f.Status != http.StatusConflict {
		t.Fatalf("full session: %v", err)
	}
	deep := `{"InteractionId":"` + s.ID() + `","MessageText":"x","EventAttributes":` + strings.Repeat(`{"a":`, 16000) + "{}" + strings.Repeat("}", 16000) + "}"
	e2 := newEnvMaxBody(t, 1<<20)
	s2, _ := e2.session(t, false)
	deep = strings.Replace(deep, s.ID(), s2.ID(), 1)
	_, err = e2.client.CallRaw(ctx, wire.MethodMessage, []byte(deep))
	if f := fault(err); f == nil || f.FaultCode != wire.FaultInvalidParameter || !strings.Contains(f.FaultString, "deeper than") {
		t.Fatalf("16,000 levels: %v", err)
	}
	_, err = e2.client.Message(ctx, s2.ID(), "x", wire.Params{"EventAttributes": strings.Repeat("a.", 16000) + "b:c"})
	if f := fault(err); f == nil || f.FaultCode != wire.FaultInvalidParameter {
		t.Fatalf("16,000 levels in the list-like form: %v", err)
	}
}
