package esp

import (
	"bytes"
	"maps"
	"testing"
)

// flatBodies are bodies decodeFlat must take (want true) or leave to
// encoding/json (want false).
var flatBodies = []struct {
	body string
	want bool
}{
	{`{"InteractionId":"abc","MessageText":"hi","Nickname":"Workflow","Visibility":"ALL"}`, true},
	{`{}`, true},
	{" { \t\"a\" :\r\n\"b\" , \"c\":\"\" } ", true},
	{`{"a":"x","a":"y"}`, true}, // the last wins
	{`{"a":"é ü 中文 😀"}`, true},
	{`{"a":"\u00e9"}`, false},
	{`{"a":"say \"hi\""}`, false},
	{`{"a":5}`, false},
	{`{"a":"b",}`, false},
	{`{"a":"b"} x`, false},
	{`{"a":"b"}}`, false},
	{`{"a" "b"}`, false},
	{`{"a":"b"`, false},
	{`{"a":"b" "c":"d"}`, false},
	{`{"EventAttributes":{"a":"b"}}`, false},
	{`{"a":null}`, false},
	{"{\"a\":\"tab\there\"}", false},
	{"{\"a\":\"\xff\"}", false},
	{"{\"\xff\":\"a\"}", false},
	{`{,}`, false},
	{`{"a":}`, false},
	{`{"a":"5","b":[]}`, false},
}

// TestDecodeFlatMatchesJSON checks that what decodeFlat takes it decodes as
// encoding/json does, and that it leaves the other bodies alone.
func TestDecodeFlatMatchesJSON(t *testing.T) {
	for _, tc := range flatBodies {
		trimmed := bytes.TrimSpace([]byte(tc.body))
		got, ok := decodeFlat(trimmed)
		if ok != tc.want {
			t.Errorf("decodeFlat(%q) ok = %v, want %v", tc.body, ok, tc.want)
			continue
		}
		if !ok {
			continue
		}
		want, flt := decodeParamsJSON(trimmed)
		if flt != nil {
			t.Errorf("%q: decodeFlat took it, encoding/json refuses it: %+v", tc.body, flt)
			continue
		}
		if !maps.Equal(got, want) {
			t.Errorf("%q: decodeFlat %v, encoding/json %v", tc.body, got, want)
		}
	}
}

// FuzzDecodeFlat checks decodeFlat against encoding/json on any body: when
// it takes a body, encoding/json takes it too and gives the same parameters.
func FuzzDecodeFlat(f *testing.F) {
	for _, tc := range flatBodies {
		f.Add([]byte(tc.body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		trimmed := bytes.TrimSpace(body)
		if len(trimmed) == 0 || trimmed[0] != '{' {
			return
		}
		got, ok := decodeFlat(trimmed)
		if !ok {
			return
		}
		want, flt := decodeParamsJSON(trimmed)
		if flt != nil {
			t.Fatalf("%q: decodeFlat took it, encoding/json refuses it: %+v", body, flt)
		}
		if !maps.Equal(got, want) {
			t.Fatalf("%q: decodeFlat %v, encoding/json %v", body, got, want)
		}
	})
}

// BenchmarkDecodeParams decodes the dense benchmark's workflow message.
func BenchmarkDecodeParams(b *testing.B) {
	body := []byte(`{"InteractionId":"00024a7b3c5d6e7f8a9b","MessageText":"Hello, I have a question about my last order and the delivery date. 17","Nickname":"Workflow","Visibility":"ALL"}`)
	b.Run("flat", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, f := decodeParams(body); f != nil {
				b.Fatal(f)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, f := decodeParamsJSON(body); f != nil {
				b.Fatal(f)
			}
		}
	})
}
