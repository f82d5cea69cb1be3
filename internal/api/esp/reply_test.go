package esp

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"testing"

	wire "github.com/confab/confab/client/esp"
)

// TestAppendReplyMatchesEncoder compares appendReply with json.Encoder for
// every combination of the fields it writes, and guards the fields it
// knows: a new field of wire.Reply must be added to appendReply.
func TestAppendReplyMatchesEncoder(t *testing.T) {
	var fields []string
	rt := reflect.TypeFor[wire.Reply]()
	for i := range rt.NumField() {
		fields = append(fields, rt.Field(i).Name)
	}
	if want := []string{"OccuredAt", "ScriptPos", "IsClosed", "SessionInfo"}; !slices.Equal(fields, want) {
		t.Fatalf("wire.Reply has fields %v; appendReply writes %v: update it", fields, want)
	}
	zero, one, big := 0, 1, 1<<40
	for _, at := range []string{"", "2026-12-02T02:03:04.567Z", `<a & "b">`, "é\u2028\x01"} {
		for _, pos := range []*int{nil, &zero, &big} {
			for _, closed := range []*int{nil, &zero, &one} {
				r := wire.Reply{OccuredAt: at, ScriptPos: pos, IsClosed: closed}
				var want bytes.Buffer
				if err := json.NewEncoder(&want).Encode(r); err != nil {
					t.Fatal(err)
				}
				if got := appendReply(nil, r); !bytes.Equal(got, want.Bytes()) {
					t.Errorf("%+v: appendReply %q, json.Encoder %q", r, got, want.Bytes())
				}
			}
		}
	}
}
