package cluster_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/cluster"
)

// TestExtendByInduceRestore runs two nodes on one PostgreSQL store; node a
// owns a session per case and its lease ends on b's clock (a is dead to
// b). A request reaching b either claims and restores the session there
// or is served by b's handler without a claim, as session-restore-extend-by
// and the ESP InduceRestore parameter decide.
func TestExtendByInduceRestore(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	const lease = 9 * time.Second
	clkA, clkB := clock.NewFake(t0), clock.NewFake(t0)
	mode := cluster.ExtendNone
	restored := make(chan string, 1)
	a := cluster.New(cluster.Options{Store: st, Clock: clkA, NodeID: "a", Lease: lease})
	b := cluster.New(cluster.Options{Store: st, Clock: clkB, NodeID: "b", Lease: lease,
		Restore:    func(_ context.Context, id string) error { restored <- id; return nil },
		MayRestore: cluster.ExtendBy(func() string { return mode })})
	if err := a.Start(ctx, map[string]string{"webapi": "http://127.0.0.1:1", "esp": "http://127.0.0.1:1"}); err != nil {
		t.Fatal(err)
	}
	defer a.Stop(ctx)
	if err := b.Start(ctx, map[string]string{"webapi": "http://127.0.0.1:2", "esp": "http://127.0.0.1:2"}); err != nil {
		t.Fatal(err)
	}
	defer b.Stop(ctx)
	served := 0
	h := b.Middleware(func(string) bool { return false }, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served++
		w.WriteHeader(http.StatusNotFound)
	}))
	esp := func(id, induce string) *http.Request {
		body := fmt.Sprintf(`{"InteractionId":%q%s}`, id, induce)
		return httptest.NewRequest(http.MethodPost, "/esp/GetSessionInfo", strings.NewReader(body))
	}
	cases := []struct {
		mode    string
		req     func(id string) *http.Request
		restore bool
	}{
		{cluster.ExtendNone, func(id string) *http.Request { return esp(id, `,"InduceRestore":"true"`) }, false},
		{cluster.ExtendAgent, func(id string) *http.Request { return esp(id, `,"InduceRestore":"true"`) }, false},
		{cluster.ExtendESP, func(id string) *http.Request { return esp(id, "") }, false},
		{cluster.ExtendESP, func(id string) *http.Request { return esp(id, `,"InduceRestore":"false"`) }, false},
		{cluster.ExtendESP, func(id string) *http.Request { return esp(id, `,"InduceRestore":"true"`) }, true},
		{cluster.ExtendBoth, func(id string) *http.Request { return esp(id, `,"InduceRestore":true`) }, true},
		{cluster.ExtendNone, func(id string) *http.Request {
			return httptest.NewRequest(http.MethodPost, "/genesys/2/chat/svc/"+id+"/refresh", strings.NewReader(""))
		}, true},
	}
	for i := range cases {
		id := fmt.Sprintf("s%d", i)
		if err := a.SessionCreated(&chat.Info{ID: id}).Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	clkB.Advance(lease + time.Second) // a never renews: dead to b
	for i, tc := range cases {
		id := fmt.Sprintf("s%d", i)
		mode = tc.mode
		before := served
		h.ServeHTTP(httptest.NewRecorder(), tc.req(id))
		if served != before+1 {
			t.Errorf("case %d: the request did not reach b's handler", i)
		}
		o, err := st.GetOwner(ctx, id)
		if err != nil {
			t.Fatalf("case %d: owner: %v", i, err)
		}
		if tc.restore {
			select {
			case got := <-restored:
				if got != id {
					t.Errorf("case %d: restored %s, want %s", i, got, id)
				}
			default:
				t.Errorf("case %d (extend-by=%s): not restored", i, tc.mode)
			}
			if o.NodeID != "b" || o.Epoch != 2 {
				t.Errorf("case %d: owner %+v, want b at epoch 2", i, o)
			}
		} else {
			select {
			case got := <-restored:
				t.Errorf("case %d (extend-by=%s): restored %s", i, tc.mode, got)
			default:
			}
			if o.NodeID != "a" || o.Epoch != 1 {
				t.Errorf("case %d: owner %+v, want a still at epoch 1", i, o)
			}
		}
	}
}
