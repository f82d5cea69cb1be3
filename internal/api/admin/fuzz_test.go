package admin

import (
	"errors"
	"testing"
)

// FuzzDecodeAgentBody checks that any body decodes or is refused naming a
// cause, and that an accepted one satisfies the rules it checks.
func FuzzDecodeAgentBody(f *testing.F) {
	for _, s := range []string{
		`{"id":"amy","name":"Amy","type":"AGENT","queues":["a","b"],"capacity":3}`,
		`{"capacity":0}`, `{"queues":["a,b"]}`, `[]`, `{"id":""}`, `{"type":"bot","rotateToken":true}`, `{} {}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := decodeAgentBody(data)
		if err != nil {
			var fe *fieldError
			if !errors.As(err, &fe) || fe.msg == "" {
				t.Fatalf("refusal without a message: %v", err)
			}
			return
		}
		if b.Capacity != nil && (*b.Capacity < 1 || *b.Capacity > 100) {
			t.Fatalf("accepted capacity %d", *b.Capacity)
		}
		if b.ID != nil && *b.ID == "" {
			t.Fatal("accepted an empty id")
		}
	})
}
