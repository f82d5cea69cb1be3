package oplog_test

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/kv"
	"github.com/confab/confab/internal/oplog"
)

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func TestLines(t *testing.T) {
	var buf syncBuf
	j := oplog.New(slog.New(slog.NewTextHandler(&buf, nil)))
	clk := clock.NewFake(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	e := chat.New(chat.Options{Clock: clk, Journal: j})
	s, _, _, err := e.Create(chat.CreateRequest{Tenant: "1", Endpoint: "sales", UserData: kv.Map{"EmailAddress": "kim@example.com"},
		Creator: chat.JoinRequest{UserID: "c", Type: chat.Client}})
	if err != nil {
		t.Fatal(err)
	}
	s.Join(chat.JoinRequest{UserID: "a", Type: chat.Agent})
	s.Send("c", chat.Msg{Text: "my card is 4111 1111 1111 1111"})
	s.Send("a", chat.Msg{Text: "thanks"})
	clk.Advance(90 * time.Second)
	s.Leave(chat.LeaveRequest{UserID: "a", After: chat.ForceClose})
	j.Close()
	out := buf.b.String()
	for _, want := range []string{
		`msg="session created" session=` + s.ID() + ` tenant=1 endpoint=sales async=false`,
		`msg="session closed" session=` + s.ID() + ` tenant=1 endpoint=sales ended_by=AGENT reason=FORCE agent=PRESENT duration=1m30s messages=2 parties=2`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	for _, secret := range []string{"4111", "kim@example.com", "thanks"} {
		if strings.Contains(out, secret) {
			t.Errorf("log carries message text or user data %q:\n%s", secret, out)
		}
	}
}
