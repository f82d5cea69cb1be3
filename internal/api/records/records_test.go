package records_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/confab/confab/internal/api/records"
	"github.com/confab/confab/internal/store"
	"github.com/confab/confab/internal/store/sqlite"
)

// FuzzContactInteractions sends arbitrary paging queries to the contact
// history over a real SQLite store: every answer is 200, 400 naming the
// parameter, or 404 — JSON, never a server error.
func FuzzContactInteractions(f *testing.F) {
	for _, s := range []string{"", "limit=1", "limit=0", "limit=1001", "limit=abc", "after=", "after=i1&limit=2", "limit=1&limit=2", "after=zz&after=i2", "%zz", "limit=+5", "limit=-1"} {
		f.Add(s)
	}
	ctx := context.Background()
	st, err := sqlite.Open(ctx, f.TempDir(), sqlite.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close(ctx) })
	cid, _, err := st.IdentifyContact(ctx, map[string]string{store.AttrEmailAddress: "kim@example.com"}, []string{store.AttrEmailAddress}, true)
	if err != nil {
		f.Fatal(err)
	}
	base := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	for i, id := range []string{"i1", "i2", "i3"} {
		if err := st.CreateInteraction(ctx, store.Interaction{ID: id, ContactID: cid, CreatedAt: base.Add(time.Duration(i) * time.Minute)}); err != nil {
			f.Fatal(err)
		}
	}
	mux := http.NewServeMux()
	records.New(records.Options{Store: st, Token: func() string { return "t" }}).Register(mux)
	f.Fuzz(func(t *testing.T, raw string) {
		r := httptest.NewRequest(http.MethodGet, "/api/v1/contacts/"+cid+"/interactions", nil)
		r.URL.RawQuery = raw
		r.Header.Set("Authorization", "Bearer t")
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		switch w.Code {
		case http.StatusOK:
			var p records.Page
			if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil || len(p.Interactions) > 3 {
				t.Fatalf("%q: %v %s", raw, err, w.Body.String())
			}
		case http.StatusBadRequest:
			var e struct{ Field string }
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || (e.Field != "limit" && e.Field != "after") {
				t.Fatalf("%q: 400 %s", raw, w.Body.String())
			}
		default:
			t.Fatalf("%q: status %d %s", raw, w.Code, w.Body.String())
		}
	})
}
