package chatv2

import "strings"

// unescaped marks the bytes url.QueryEscape leaves as they are: letters,
// digits and -_.~ (space becomes '+', everything else %XX).
var unescaped = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "-_.~" {
		t[c] = true
	}
	return t
}()

// writeQueryEscaped writes url.QueryEscape(s) to b without building the
// escaped string first (TestWriteQueryEscaped compares the two).
func writeQueryEscaped(b *strings.Builder, s string) {
	const hex = "0123456789ABCDEF"
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unescaped[c] {
			continue
		}
		b.WriteString(s[start:i])
		if c == ' ' {
			b.WriteByte('+')
		} else {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
		start = i + 1
	}
	b.WriteString(s[start:])
}
