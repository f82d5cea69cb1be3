package chat

import (
	"regexp"
	"testing"
)

// TestIDShapes: party ids are 16 upper-case hex digits, session ids,
// passwords and secrets n characters of [0-9A-Za-z] (on both sides of
// randomString's stack buffer), and none repeats in a thousand draws.
func TestIDShapes(t *testing.T) {
	hex16 := regexp.MustCompile(`^[0-9A-F]{16}$`)
	alnum := regexp.MustCompile(`^[0-9A-Za-z]*$`)
	seen := make(map[string]bool)
	nibbles := make(map[byte]bool)
	for i := 0; i < 1000; i++ {
		id := NewUserID()
		if !hex16.MatchString(id) || seen[id] {
			t.Fatalf("NewUserID() = %q (seen before: %v)", id, seen[id])
		}
		seen[id] = true
		for j := 0; j < len(id); j++ {
			nibbles[id[j]] = true
		}
	}
	if len(nibbles) != 16 {
		t.Errorf("party ids use %d of the 16 hex digits", len(nibbles))
	}
	for _, n := range []int{0, 1, 16, 20, 31, 32, 33, 64} {
		s := NewSecret(n)
		if len(s) != n || !alnum.MatchString(s) {
			t.Errorf("NewSecret(%d) = %q", n, s)
		}
		if n >= 16 && (seen[s] || s == NewSecret(n)) {
			t.Errorf("NewSecret(%d) repeated %q", n, s)
		}
		seen[s] = true
	}
	if s := NewSessionID(); len(s) != 16 || !alnum.MatchString(s) {
		t.Errorf("NewSessionID() = %q", s)
	}
}

func BenchmarkNewUserID(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = NewUserID()
	}
}

func BenchmarkNewSessionID(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = NewSessionID()
	}
}
