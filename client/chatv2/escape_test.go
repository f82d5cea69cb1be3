package chatv2

import (
	"net/url"
	"strings"
	"testing"
)

func TestWriteQueryEscaped(t *testing.T) {
	var all strings.Builder
	for c := 0; c < 256; c++ {
		all.WriteByte(byte(c))
	}
	for _, s := range []string{"", "plain", "cfb:12:3:_456 filler text", "a+b&c=d/e?f#g%h", "héllo ☃", "\x00\xff", all.String()} {
		var b strings.Builder
		b.WriteString("x=")
		writeQueryEscaped(&b, s)
		if got, want := b.String(), "x="+url.QueryEscape(s); got != want {
			t.Errorf("%q: got %q, want %q", s, got, want)
		}
	}
}

func FuzzWriteQueryEscaped(f *testing.F) {
	f.Add("cfb:1:2:_3 text")
	f.Fuzz(func(t *testing.T, s string) {
		var b strings.Builder
		writeQueryEscaped(&b, s)
		if b.String() != url.QueryEscape(s) {
			t.Fatalf("%q: got %q, want %q", s, b.String(), url.QueryEscape(s))
		}
	})
}
