package routing_test

import (
	"context"
	"encoding/json"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/confab/confab/internal/leakcheck"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/config"
	"github.com/confab/confab/internal/kv"
	"github.com/confab/confab/internal/routing"
	"github.com/confab/confab/internal/store"
)

type fixture struct {
	engine *chat.Engine
	router *routing.Router
	store  *memStore
	mode   config.StopMode
	mu     sync.Mutex
}

func newFixture(t *testing.T, st *memStore, settings chat.Settings) *fixture {
	t.Helper()
	f := &fixture{store: st, mode: config.StopNever}
	var journals chat.Journals
	if settings == (chat.Settings{}) {
		settings = chat.DefaultSettings
	}
	f.engine = chat.New(chat.Options{Journal: &journals, Settings: settings})
	opts := routing.Options{Engine: f.engine, AppName: "confab-test", StopMode: func() config.StopMode {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.mode
	}}
	if st != nil {
		opts.Store = st
	}
	f.router = routing.New(opts)
	journals = append(journals, f.router)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := f.router.Flush(ctx); err != nil {
			t.Errorf("flush: %v", err)
		}
	})
	return f
}

func (f *fixture) setMode(m config.StopMode) {
	f.mu.Lock()
	f.mode = m
	f.mu.Unlock()
}

// customer creates a session with a customer as its creator.
func (f *fixture) customer(t *testing.T, queue string, async bool, ud kv.Map) (*chat.Session, chat.Participant) {
	t.Helper()
	s, p, _, err := f.engine.Create(chat.CreateRequest{
		Tenant: "1", Endpoint: "default", Queue: queue, Async: async, UserData: ud,
		Creator: chat.JoinRequest{Nick: "Kim", Type: chat.Client, Protocol: chat.Flex},
	})
	if err != nil {
		t.Fatalf("create session: %v", err)
	}
	if f.store != nil {
		f.store.historyCreate(s.Info())
	}
	return s, p
}

func agentJoin(t *testing.T, s *chat.Session, typ chat.UserType, bot bool) chat.Participant {
	t.Helper()
	var ud kv.Map
	if bot {
		ud = kv.Map{chat.KeySetPartyStyle: "BOT"}
	}
	if pw := s.Info().Password; pw != "" {
		if ud == nil {
			ud = kv.Map{}
		}
		ud[chat.KeySessionPassword] = pw
	}
	p, _, err := s.Join(chat.JoinRequest{Nick: "agent", Type: typ, Protocol: chat.Basic, UserData: ud})
	if err != nil {
		t.Fatalf("join: %v", err)
	}
	return p
}

func mustGet(t *testing.T, r *routing.Router, id string) routing.Interaction {
	t.Helper()
	v, err := r.Get(id)
	if err != nil {
		t.Fatalf("get %s: %v", id, err)
	}
	return v
}

// memStore is an in-memory store.Interactions that behaves like the real
// one in what routing relies on: versions and conflicts.
type memStore struct {
	mu    sync.Mutex
	recs  map[string]store.Interaction
	reads map[string]int // GetInteraction calls by id
}

func newMemStore() *memStore {
	return &memStore{recs: map[string]store.Interaction{}, reads: map[string]int{}}
}

// UpdateRouting sets state and user data without a version check, as the
// real stores' store.RoutingWriter does.
func (m *memStore) UpdateRouting(_ context.Context, u store.RoutingUpdate) store.Ticket {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.recs[u.ID]
	if !ok {
		return store.FailedTicket(store.ErrNotFound)
	}
	r.State, r.UserData = u.State, u.UserData
	r.Version++
	m.recs[u.ID] = r
	return store.FailedTicket(nil) // a completed ticket
}

func (m *memStore) readsOf(id string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.reads[id]
}

// historyCreate creates the record as the history journal does.
func (m *memStore) historyCreate(info chat.Info) {
	ud, _ := jsonOf(info.UserData)
	m.CreateInteraction(context.Background(), store.Interaction{
		ID: info.ID, SessionID: info.ID, Queue: info.Queue, UserData: ud, State: "queued", CreatedAt: info.CreatedAt,
		ContactID: info.UserData.String("contact"),
	})
}

func (m *memStore) CreateInteraction(_ context.Context, in store.Interaction) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.recs[in.ID]; ok {
		return store.ErrExists
	}
	if in.Status == "" {
		in.Status = store.StatusOpen
	}
	in.Version = 1
	m.recs[in.ID] = in
	return nil
}

func (m *memStore) GetInteraction(_ context.Context, id string) (store.Interaction, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reads[id]++
	r, ok := m.recs[id]
	if !ok {
		return store.Interaction{}, store.ErrNotFound
	}
	return r, nil
}

func (m *memStore) UpdateInteraction(_ context.Context, in store.Interaction) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.recs[in.ID]
	if !ok {
		return 0, store.ErrNotFound
	}
	if r.Version != in.Version {
		return 0, store.ErrConflict
	}
	in.CreatedAt = r.CreatedAt
	in.Version++
	m.recs[in.ID] = in
	return in.Version, nil
}

func (m *memStore) CloseInteraction(_ context.Context, id string, closedAt time.Time, doc store.JSONWriter, stats, ud json.RawMessage) error {
	transcript, err := store.Render(doc)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.recs[id]
	if !ok {
		return store.ErrNotFound
	}
	r.Status, r.ClosedAt, r.Transcript, r.Stats = store.StatusClosed, closedAt, transcript, stats
	if ud != nil {
		r.UserData = ud
	}
	r.Version++
	m.recs[id] = r
	return nil
}

func (m *memStore) ListInteractions(_ context.Context, f store.InteractionFilter) ([]store.Interaction, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.Interaction
	for _, r := range m.recs {
		if (f.Queue == "" || r.Queue == f.Queue) && (f.State == "" || r.State == f.State) && (f.Status == "" || r.Status == f.Status) {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, nil
}

func (m *memStore) get(t *testing.T, id string) (store.Interaction, kv.Map) {
	t.Helper()
	r, err := m.GetInteraction(context.Background(), id)
	if err != nil {
		t.Fatalf("stored interaction %s: %v", id, err)
	}
	ud, err := kv.FromJSON(r.UserData)
	if err != nil {
		t.Fatalf("stored user data of %s: %v", id, err)
	}
	return r, ud
}

func jsonOf(m kv.Map) ([]byte, error) {
	if m == nil {
		m = kv.Map{}
	}
	return json.Marshal(m)
}

func TestMain(m *testing.M) { leakcheck.Main(m) }
