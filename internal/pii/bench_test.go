package pii_test

import (
	"testing"

	"github.com/confab/confab/internal/pii"
)

func defaultSet(b testing.TB) *pii.Set {
	set, err := pii.Compile(pii.Defaults(), pii.Options{DefaultSpec: pii.Spec{Digits: true}})
	if err != nil {
		b.Fatal(err)
	}
	return set
}

// A typical chat message with no rule match: the cost of the matching step
// on the message path. Target: < 2 µs and 0 allocations.
func BenchmarkMaskNoMatch(b *testing.B) {
	set := defaultSet(b)
	for _, c := range []struct{ name, text string }{
		{"plain", "Hello, I would like to know when my order will arrive, it has been a week already."},
		{"few-digits", "My order 12345 was placed on 12/01, about 3 weeks ago; can you check?"},
		{"long-2KB", string(make([]byte, 0)) + repeat("Where is my parcel? I ordered it on the 3rd. ", 45)},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, ok := set.Mask(c.text); ok {
					b.Fatal("matched")
				}
			}
		})
	}
}

// A message with a card number: the full regular-expression path.
func BenchmarkMaskMatch(b *testing.B) {
	set := defaultSet(b)
	text := "Sure, my card is 4111 1111 1111 1111 and it expires 12/28."
	b.ReportAllocs()
	for b.Loop() {
		if _, _, ok := set.Mask(text); !ok {
			b.Fatal("no match")
		}
	}
}

// A message with enough digits to pass the pre-filter but no match.
func BenchmarkMaskDigitsNoMatch(b *testing.B) {
	set := defaultSet(b)
	text := "Tracking number 1Z-999-AA1-01-2345-6784, shipped 2026-11-28."
	b.ReportAllocs()
	for b.Loop() {
		if _, _, ok := set.Mask(text); ok {
			b.Fatal("matched")
		}
	}
}

func repeat(s string, n int) string {
	out := ""
	for range n {
		out += s
	}
	return out
}
