package routing

import (
	"testing"

	"github.com/confab/confab/internal/jsonw"
	"github.com/confab/confab/internal/kv"
)

// TestAttachedJSONMatchesSnapshot checks that a blind record write's
// attached data (attachedJSON, no copy of the base) has the bytes of the
// snapshot's attached data encoded: with and without a Located hook, base
// keys the routing keys overwrite, an async chat, a password and a contact.
func TestAttachedJSONMatchesSnapshot(t *testing.T) {
	located := func(id string) (string, string) { return "node-2", "tok-" + id }
	views := []Interaction{
		{ID: "I1", SessionID: "I1", Online: true},
		{ID: "I2", SessionID: "I2", Async: true, AsyncStatus: AsyncOnHold, AsyncCheckAt: "2026-12-02T02:00:00Z"},
	}
	bases := []kv.Map{nil, {}, {"a": "1", "nested": kv.Map{"k": "<v>"}, KeySessionID: "stale", KeyIsOnline: "9"}}
	for _, hook := range []func(string) (string, string){nil, located} {
		r := &Router{opts: Options{AppName: "confab", Located: hook}}
		for _, v := range views {
			for _, base := range bases {
				for _, extra := range []struct{ password, contact string }{{}, {"pw", "C7"}} {
					x := &ixn{view: v, base: base, password: extra.password, contactID: extra.contact}
					want, err := jsonw.MarshalMap(r.snap(x).UserData)
					if err != nil {
						t.Fatal(err)
					}
					got, err := r.attachedJSON(x)
					if err != nil || string(got) != string(want) {
						t.Errorf("hook %v, %+v, base %v: attachedJSON %s (%v), snapshot %s", hook != nil, v, base, got, err, want)
					}
					// The closing transaction's attached data: IsOnline=0 on top.
					ud := r.snap(x).UserData
					ud[KeyIsOnline] = "0"
					want, _ = jsonw.MarshalMap(ud)
					got, err = r.attachedJSONWith(x, map[string]any{KeyIsOnline: "0"})
					if err != nil || string(got) != string(want) {
						t.Errorf("hook %v, %+v, base %v: attachedJSONWith %s (%v), snapshot %s", hook != nil, v, base, got, err, want)
					}
				}
			}
		}
	}
}

// BenchmarkAttachedJSON is a blind record write's attached data: the
// snapshot's copy then its encoding (before) against attachedJSON.
func BenchmarkAttachedJSON(b *testing.B) {
	base := kv.Map{"FirstName": "Kim", "LastName": "Lee", "EmailAddress": "kim@example.com", "Subject": "order 17",
		"GCTI_LanguageName": "english", "ChatServerHost": "127.0.0.1", "ChatServerWebPort": "8080", "TimeZone": "UTC"}
	r := &Router{opts: Options{AppName: "confab", Located: func(string) (string, string) { return "", "" }}}
	x := &ixn{view: Interaction{ID: "I1", SessionID: "I1", Online: true}, base: base, contactID: "C1"}
	b.Run("snapshot-marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := jsonw.MarshalMap(r.snap(x).UserData); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("merged", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := r.attachedJSON(x); err != nil {
				b.Fatal(err)
			}
		}
	})
}
