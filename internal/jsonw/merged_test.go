package jsonw

import (
	"maps"
	"math"
	"testing"

	"github.com/confab/confab/internal/kv"
)

// TestMarshalMergedMatchesMarshalMap compares MarshalMerged with MarshalMap
// of the merged map: keys only in one, in both (over wins), nested maps,
// escapes, nil maps, more keys than the stack holds, and a value neither
// encodes.
func TestMarshalMergedMatchesMarshalMap(t *testing.T) {
	many := kv.Map{}
	for i := range 40 {
		many[string(rune('A'+i))+"key"] = string(rune('a' + i))
	}
	cases := []struct{ base, over kv.Map }{
		{nil, nil},
		{nil, kv.Map{"a": "1"}},
		{kv.Map{"a": "1"}, nil},
		{kv.Map{"b": "2", "a": kv.Map{"z": "<x>"}, "n": 3.5}, kv.Map{"a": "over", "c": "&", "B": "é"}},
		{kv.Map{"GCTI_Chat_SessionID": "old", "x": "y"}, kv.Map{"GCTI_Chat_SessionID": "new", "IsOnline": "1"}},
		{many, kv.Map{"Ckey": "over", "zz": "last"}},
	}
	for _, tc := range cases {
		merged := maps.Clone(tc.base)
		if merged == nil {
			merged = kv.Map{}
		}
		maps.Copy(merged, tc.over)
		want, err := MarshalMap(merged)
		if err != nil {
			t.Fatal(err)
		}
		got, err := MarshalMerged(tc.base, tc.over)
		if err != nil || string(got) != string(want) {
			t.Errorf("MarshalMerged(%v, %v) = %s (%v), want %s", tc.base, tc.over, got, err, want)
		}
	}
	if _, err := MarshalMerged(kv.Map{"nan": math.NaN()}, kv.Map{"a": "b"}); err == nil {
		t.Error("a NaN was encoded; encoding/json refuses it")
	}
}
