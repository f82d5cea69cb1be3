package jsonw

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/confab/confab/internal/kv"
)

func TestStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", `q"uote\back`, "<a href='x'>&amp;</a>", "tab\tnl\ncr\rbs\bff\f\x00\x1f",
		"é ü 日本 🙂", "\u2028\u2029", "bad \xff utf8 \xc3", "\x7f del"} {
		want, _ := json.Marshal(s)
		if got := String(nil, s); string(got) != string(want) {
			t.Errorf("String(%q) = %s, want %s", s, got, want)
		}
	}
}

func TestMapAndTimeMatchEncodingJSON(t *testing.T) {
	m := kv.Map{"b": "2", "a": kv.Map{"z": "<x>", "y": map[string]any{"k": "v"}}, "n": 3.5, "c": ""}
	want, _ := json.Marshal(m)
	got, ok := Map(nil, m)
	if !ok || string(got) != string(want) {
		t.Errorf("Map = %s (%v), want %s", got, ok, want)
	}
	if got, _ := Map(nil, nil); string(got) != "null" {
		t.Errorf("nil map = %s", got)
	}
	for _, tm := range []time.Time{time.Date(2026, 12, 1, 11, 2, 3, 4000, time.UTC), time.Date(1999, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600)), {}} {
		want, _ := json.Marshal(tm)
		got, ok := Time(nil, tm)
		if !ok || string(got) != string(want) {
			t.Errorf("Time(%v) = %s, want %s", tm, got, want)
		}
	}
	if _, ok := Time(nil, time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)); ok {
		t.Error("year 10000 accepted; encoding/json refuses it")
	}
}

func TestMarshalMapMatchesEncodingJSON(t *testing.T) {
	for _, m := range []kv.Map{nil, {}, {"b": "2", "a": kv.Map{"z": "<x>", "y": map[string]any{"k": "v"}}, "c": "é\u2028"}, {"n": 3.5, "s": "x"}, {"bad": func() {}}} {
		want, werr := json.Marshal(m)
		got, err := MarshalMap(m)
		if string(got) != string(want) || (err == nil) != (werr == nil) {
			t.Errorf("MarshalMap(%v) = %s, %v; want %s, %v", m, got, err, want, werr)
		}
	}
}

func FuzzString(f *testing.F) {
	for _, s := range []string{"", "a<b>&c", "\xff", "\u2028", "日本"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := String(nil, s); string(got) != string(want) {
			t.Fatalf("String(%q) = %s, want %s", s, got, want)
		}
	})
}

// TestStringEveryByte checks the plain table against encoding/json: every
// byte alone, and between plain text (the fast path's run boundaries).
func TestStringEveryByte(t *testing.T) {
	for b := 0; b < 256; b++ {
		for _, s := range []string{string([]byte{byte(b)}), "ab" + string([]byte{byte(b)}) + "cd"} {
			want, _ := json.Marshal(s)
			if got := String(nil, s); string(got) != string(want) {
				t.Errorf("String(%q) = %s, want %s", s, got, want)
			}
		}
	}
}

func BenchmarkString(b *testing.B) {
	s := "Hello, I have a question about my last order and the delivery date. t1_1764587000000000000"
	buf := make([]byte, 0, 256)
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		buf = String(buf[:0], s)
	}
}

// BenchmarkMarshalMap: an interaction's attached data (routing's keys and
// the customer's) as encoding/json writes it and as MarshalMap does.
func BenchmarkMarshalMap(b *testing.B) {
	m := kv.Map{"ChatServerAppName": "confab", "ChatServerSessionId": "0123456789abcdef", "IsOnline": "1",
		"FirstName": "Ann", "LastName": "Lee", "EmailAddress": "ann@example.com", "Subject": "order 1234", "ContactId": "c-0001"}
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(m); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("MarshalMap", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := MarshalMap(m); err != nil {
				b.Fatal(err)
			}
		}
	})
}
