package jsonscan

import (
	"encoding/json"
	"testing"
)

func TestInt(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true}, {"-0", 0, true}, {" 42 ", 42, true}, {"-17", -17, true},
		{"9223372036854775807", 9223372036854775807, true},
		{"-9223372036854775808", -9223372036854775808, true},
		{"9223372036854775808", 0, false}, {"-9223372036854775809", 0, false},
		{"12345678901234567890", 0, false}, {"01", 0, false}, {"1.0", 0, false}, {"1e3", 0, false},
		{"-", 0, false}, {"", 0, false}, {"+1", 0, false}, {"\"1\"", 0, false},
	} {
		var sc Scanner
		sc.ResetString(tc.in)
		got := sc.Int()
		ok := !sc.Failed() && sc.End()
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("Int(%q) = %d, ok %v; want %d, ok %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestString(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{`"plain"`, true}, {`""`, true}, {`"h\u00e9\n\"\\\/"`, true}, {`"\ud83d\ude00"`, true},
		{`"\ud83d"`, true}, {"\"caf\xc3\xa9\"", true}, {"\"bad \xff\"", true},
		{`"open`, false}, {"\"ctl\x01\"", false}, {`"\x"`, false}, {`"\u12"`, false}, {`x`, false},
	} {
		var sc Scanner
		sc.ResetString(tc.in)
		got := sc.String()
		ok := !sc.Failed() && sc.End()
		var want string
		werr := json.Unmarshal([]byte(tc.in), &want)
		if ok != tc.ok || ok != (werr == nil) || (ok && got != want) {
			t.Errorf("String(%q) = %q, ok %v; want %q, ok %v (encoding/json: %v)", tc.in, got, ok, want, tc.ok, werr)
		}
	}
}

// TestSkip checks Skip's verdict on well-formedness against json.Valid.
func TestSkip(t *testing.T) {
	for _, in := range []string{
		`{}`, `[]`, `{"a":[1,-2.5e+3,true,false,null,"x\"y",{"b":{}}]}`, `[1,]`, `{"a":1,}`, `{"a" 1}`,
		`{1:2}`, `[01]`, `[1.]`, `[.5]`, `[1e]`, `[-]`, `tru`, `nul`, `"a\qb"`, `[[[[]]]]`, `{"a":1}}`, ` 7 `,
	} {
		var sc Scanner
		sc.ResetString(in)
		sc.Skip()
		ok := !sc.Failed() && sc.End()
		if want := json.Valid([]byte(in)); ok != want {
			t.Errorf("Skip(%q) ok %v, json.Valid %v", in, ok, want)
		}
	}
}

func TestObjectAndArray(t *testing.T) {
	for _, tc := range []struct {
		in   string
		keys int
		ok   bool
	}{
		{`{}`, 0, true}, {`{"a":1}`, 1, true}, {` { "a" : 1 , "b":2 } `, 2, true},
		{`{,"a":1}`, 0, false}, {`{"a":1 "b":2}`, 1, false}, {`{"a":1,}`, 1, false}, {`{"a\"":1}`, 0, false},
		{`{"a"}`, 0, false}, {`[]`, 0, false},
	} {
		var sc Scanner
		sc.ResetString(tc.in)
		n := 0
		if sc.Object() {
			for first := true; ; first = false {
				if _, ok := sc.Key(first); !ok {
					break
				}
				n++
				sc.Int()
			}
		}
		ok := !sc.Failed() && sc.End()
		if ok != tc.ok || (ok && n != tc.keys) {
			t.Errorf("%s: %d keys, ok %v; want %d, ok %v", tc.in, n, ok, tc.keys, tc.ok)
		}
	}
	for _, tc := range []struct {
		in    string
		elems int
		ok    bool
	}{
		{`[]`, 0, true}, {`[1]`, 1, true}, {`[1, 2 ,3]`, 3, true}, {`[,1]`, 0, false}, {`[1,]`, 1, false}, {`[1 2]`, 1, false},
	} {
		var sc Scanner
		sc.ResetString(tc.in)
		n := 0
		if sc.Array() {
			for first := true; sc.Elem(first); first = false {
				n++
				sc.Int()
			}
		}
		ok := !sc.Failed() && sc.End()
		if ok != tc.ok || (ok && n != tc.elems) {
			t.Errorf("%s: %d elements, ok %v; want %d, ok %v", tc.in, n, ok, tc.elems, tc.ok)
		}
	}
}

func TestFolds(t *testing.T) {
	names := []string{"statusCode", "text"}
	for _, tc := range []struct {
		key  string
		want bool
	}{{"STATUSCODE", true}, {"Text", true}, {"texts", false}, {"other", false}, {"ſtatusCode", true}} {
		if got := Folds(tc.key, names); got != tc.want {
			t.Errorf("Folds(%q) = %v, want %v", tc.key, got, tc.want)
		}
	}
}
