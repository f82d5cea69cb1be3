package agent_test

import (
	"strings"
	"testing"

	wire "github.com/confab/confab/client/agent"
	"github.com/confab/confab/internal/chat"
)

// TestBoundsErrors checks the agent protocol's shape of the engine's
// bounds (error codes rate-limited and session-full; the socket stays),
// that a frame nested 600 levels deep (within the test frame size of 4 KB) is refused without breaking the
// socket, and that server-owned keys in join user data are dropped.
func TestBoundsErrors(t *testing.T) {
	st := chat.DefaultSettings
	st.Bounds = chat.Bounds{Rate: 0.001, Burst: 2, MaxEvents: 4}
	e := newEnv(t, st, nil)
	ctx := ctxT(t)
	s, _ := e.customer(t, "q", false)
	c := e.dial(t, tokAlice)
	j, err := c.Accept(ctx, s.ID(), wire.JoinOptions{UserData: map[string]any{"ContactId": "forged", "IsOnline": "1", "Skill": "billing"}})
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := s.Participant(j.UserID); p.UserData.String("ContactId") != "" || p.UserData.String("Skill") != "billing" {
		t.Errorf("join user data: %v", p.UserData)
	}
	if n := e.handler.DroppedKeys(); n != 2 {
		t.Errorf("DroppedKeys = %d, want 2", n)
	}
	for range 2 {
		if _, err := c.Send(ctx, s.ID(), wire.Message{Text: "hi"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Send(ctx, s.ID(), wire.Message{Text: "too fast"}); codeOf(err) != wire.CodeRateLimited {
		t.Fatalf("over the rate: %v", err)
	}
	deep := `{"id":"d1","op":"send","sessionId":"` + s.ID() + `","text":"x","eventAttributes":` + strings.Repeat(`{"a":`, 600) + "{}" + strings.Repeat("}", 600) + "}"
	if err := c.WriteRaw(ctx, []byte(deep), false); err != nil {
		t.Fatal(err)
	}
	if f := waitFrame(t, c, func(f wire.Frame) bool { return f.ID == "d1" }); f.Code != wire.CodeBadRequest || !strings.Contains(f.Message, "deeper than") {
		t.Fatalf("600 levels: %+v", f)
	}
	if err := c.Ping(ctx); err != nil {
		t.Fatalf("the socket did not survive: %v", err)
	}
	// Fill the session from the customer's side, then the agent is refused.
	cust, _ := s.Participant(s.Info().Participants[0].UserID)
	for range 2 {
		s.Send(cust.UserID, chat.Msg{Text: "customer"})
	}
	c2 := e.dial(t, tokBot) // a bot of the queue may join directly
	if _, err := c2.Join(ctx, s.ID(), wire.JoinOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c2.Send(ctx, s.ID(), wire.Message{Text: "full"}); codeOf(err) != wire.CodeSessionFull {
		t.Fatalf("full session: %v", err)
	}
}
