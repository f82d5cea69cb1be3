package responses

import (
	"github.com/confab/confab/internal/store"
	"testing"
	"unicode/utf8"
)

// FuzzParseBody checks that any body decodes or is refused naming a cause,
// and that what decodes passes the field rules or is refused by them with a
// field named.
func FuzzParseBody(f *testing.F) {
	for _, s := range []string{
		`{"id":"hello","name":"Welcome","category":"greetings","shortcut":"hi","text":"Hello"}`,
		`{"name":"Colours","text":"Black?","attributes":{"structured-content":{"genesys-chat":{"content":"{\"type\":\"Message\"}","type":"Generic"}}}}`,
		`{"attributes":null}`, `[]`, `{"name":7}`, `{} {}`, `{"x":1}`, `{"text":"\ud800"}`,
	} {
		f.Add([]byte(s))
	}
	h := New(Options{MaxText: func() int { return 200 }})
	f.Fuzz(func(t *testing.T, data []byte) {
		b, ferr := parseBody(data)
		if ferr != nil {
			if ferr.msg == "" || ferr.status < 400 {
				t.Fatalf("refusal without a message: %+v", ferr)
			}
			return
		}
		if b.Name != nil && !utf8.ValidString(*b.Name) {
			t.Fatalf("accepted invalid UTF-8 name %q", *b.Name)
		}
		sr := store.StandardResponse{ID: "fuzz"}
		b.apply(&sr)
		if ferr := h.check(sr); ferr != nil {
			if ferr.field == "" || ferr.msg == "" {
				t.Fatalf("check refused without naming the field: %+v", ferr)
			}
			return
		}
		if sr.Text == "" || sr.Name == "" || utf8.RuneCountInString(sr.Text) > 200 {
			t.Fatalf("check accepted %+v", sr)
		}
	})
}
