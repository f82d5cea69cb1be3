package push_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/config"
	"github.com/confab/confab/internal/push"
	"github.com/confab/confab/internal/store"
	"github.com/confab/confab/internal/store/postgres"
	"github.com/confab/confab/internal/store/postgres/pgtest"
)

// node is one node's push service and engine on the shared store.
type node struct {
	id     string
	clk    *clock.Fake
	svc    *push.Service
	engine *chat.Engine
}

func startNode(t *testing.T, id string, st *postgres.Store, cfg *config.Config) *node {
	n := &node{id: id, clk: clock.NewFake(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))}
	n.svc = push.New(push.Options{
		Config: func() *config.Config { return cfg }, Clock: n.clk, Outbox: st, Alias: "7",
		Owner: func(ctx context.Context, sessionID string) (bool, error) {
			o, err := st.GetOwner(ctx, sessionID)
			if errors.Is(err, store.ErrNotFound) {
				return false, nil
			}
			return err == nil && o.NodeID == id, err
		},
	})
	t.Cleanup(func() { n.svc.Close(context.Background()) })
	n.engine = chat.New(chat.Options{Clock: n.clk, Journal: n.svc})
	return n
}

// TestPushResendMovesWithTheSession runs two nodes on one PostgreSQL store
// (shared outbox, owner rows). Node a owns a chat whose customer asked for
// reliable push: a sends the trigger and one resend. Node b claims the
// session (as after a's lease ended), restores it and adopts the pending
// notification. When the next resend falls due on both clocks, only b
// sends it — with the next attempt number — and a, asking the store,
// forgets the session instead; a restarted a does not load b's record.
// Every attempt reaches the customer exactly once.
func TestPushResendMovesWithTheSession(t *testing.T) {
	ctx := context.Background()
	dsn, schema := pgtest.Schema(t)
	st, err := postgres.Open(ctx, dsn, postgres.Options{Schema: schema, MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(ctx)
	rcv := newReceiver(t)
	cfg, _, err := config.Parse("t.ini", []byte(fmt.Sprintf(
		"[settings]\nflex-push-enabled = true\nflex-push-on-join = true\nflex-push-resend-attempts = 5\nflex-push-resend-delay = 30\n[push]\ncustomhttp.url = %s/notify\n", rcv.ts.URL)))
	if err != nil {
		t.Fatal(err)
	}
	a, b := startNode(t, "a", st, cfg), startNode(t, "b", st, cfg)
	ud := with(subscribe, push.KeyResend, "true")

	s, _, _, err := a.engine.Create(chat.CreateRequest{UserData: ud, Creator: chat.JoinRequest{Nick: "Ann", Type: chat.Client, Protocol: chat.Flex, Secret: "k"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.OwnNew(ctx, s.ID(), "a").Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Join(chat.JoinRequest{Nick: "Anna", Type: chat.Agent, Protocol: chat.Basic}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the trigger", func() bool { return rcv.count() == 1 })
	a.clk.Advance(30 * time.Second)
	eventually(t, "resend 1", func() bool { return rcv.count() == 2 })
	record := func(attempt int) func() bool {
		return func() bool {
			items, _ := st.ListOutbox(ctx, push.OutboxKind)
			return len(items) == 1 && strings.Contains(string(items[0].Value), fmt.Sprintf(`"attempt":%d`, attempt))
		}
	}
	eventually(t, "a's outbox record at attempt 1", record(1))

	// b takes the session over: claim, restore, adopt.
	if _, err := st.Claim(ctx, store.Owner{SessionID: s.ID(), NodeID: "a", Epoch: 1}, "b"); err != nil {
		t.Fatal(err)
	}
	b.clk.Set(a.clk.Now())
	if _, _, _, err := b.engine.Create(chat.CreateRequest{ID: s.ID(), UserData: ud, Creator: chat.JoinRequest{Nick: "Ann", Type: chat.Client, Protocol: chat.Flex, Secret: "k"}}); err != nil {
		t.Fatal(err)
	}
	if ok, err := b.svc.Adopt(ctx, s.ID()); err != nil || !ok {
		t.Fatalf("b adopts the pending notification: %v, %v", ok, err)
	}

	// The next resend falls due on both nodes.
	b.clk.Advance(30 * time.Second)
	a.clk.Advance(30 * time.Second)
	eventually(t, "resend 2 from b", func() bool { return rcv.count() >= 3 })
	eventually(t, "a to forget the moved session", func() bool { return a.svc.Stats().Moved == 1 })
	settle(t, a.svc)
	settle(t, b.svc)
	attempts := map[string]int{}
	for i := 0; i < rcv.count(); i++ {
		attempts[fmt.Sprint(path(rcv.body(i), "message", "messages", 0, "userData", "notify-attempt"))]++
	}
	if rcv.count() != 3 || attempts["0"] != 1 || attempts["1"] != 1 || attempts["2"] != 1 {
		t.Fatalf("%d notifications, attempts %v; want 0, 1 and 2 once each", rcv.count(), attempts)
	}
	if st := a.svc.Stats(); st.Subscribed != 0 || st.Pending != 0 {
		t.Fatalf("a still holds the moved session: %+v", st)
	}
	eventually(t, "b's outbox record at attempt 2", record(2))

	// A restarted a takes only its own sessions' records.
	a2 := startNode(t, "a", st, cfg)
	if n, err := a2.svc.Load(ctx); err != nil || n != 0 {
		t.Fatalf("a's Load took %d records of b's sessions, %v", n, err)
	}
	b2 := startNode(t, "b", st, cfg)
	if n, err := b2.svc.Load(ctx); err != nil || n != 1 {
		t.Fatalf("b's Load took %d records, %v; want its one", n, err)
	}
}
