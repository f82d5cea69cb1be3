package limiter_test

import (
	"net/http/httptest"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/limiter"
)

func TestKeyed(t *testing.T) {
	c := clock.NewFake(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	k := limiter.NewKeyed(c, 0)
	const rate, burst = 0.5, 2 // one every 2 s
	steps := []struct {
		key     string
		advance time.Duration
		want    bool
	}{
		{"a", 0, true}, {"a", 0, true}, {"a", 0, false}, // the burst, then nothing
		{"b", 0, true},                                          // another key is not charged
		{"a", time.Second, false},                               // half a token
		{"a", time.Second, true},                                // one
		{"a", time.Hour, true}, {"a", 0, true}, {"a", 0, false}, // refilled to the burst only
	}
	for i, st := range steps {
		c.Advance(st.advance)
		if got := k.Allow(st.key, rate, burst); got != st.want {
			t.Fatalf("step %d (%s after %v): %v, want %v", i, st.key, st.advance, got, st.want)
		}
	}
	if !k.Allow("x", 0, 0) {
		t.Fatal("a zero rate refused")
	}
}

// TestKeyedBounded floods the table with keys: it never holds more than
// its maximum.
func TestKeyedBounded(t *testing.T) {
	c := clock.NewFake(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	k := limiter.NewKeyed(c, 1000)
	for range 5 {
		k.Allow("flooder", 1, 5)
	}
	for i := range 10000 {
		c.Advance(time.Millisecond)
		k.Allow("k"+strconv.Itoa(i), 1, 5)
		if n := k.Len(); n > 1000 {
			t.Fatalf("%d buckets, more than 1000", n)
		}
	}
}

func TestClientAddr(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	cases := []struct {
		name, peer string
		xff        []string
		want       string
	}{
		{"direct", "203.0.113.5:4000", nil, "203.0.113.5"},
		{"untrusted peer's header is ignored", "203.0.113.5:4000", []string{"198.51.100.1"}, "203.0.113.5"},
		{"trusted proxy", "10.1.2.3:4000", []string{"198.51.100.1"}, "198.51.100.1"},
		{"chain of trusted proxies", "10.1.2.3:4000", []string{"198.51.100.1, 10.9.9.9", "10.8.8.8"}, "198.51.100.1"},
		{"spoofed left part is not believed", "10.1.2.3:4000", []string{"1.1.1.1, 198.51.100.7"}, "198.51.100.7"},
		{"garbage stops the walk", "10.1.2.3:4000", []string{"nonsense, 10.9.9.9"}, "10.9.9.9"},
		{"trusted without header", "[::1]:4000", nil, "::1"},
		{"mapped v4", "[::ffff:203.0.113.9]:1", nil, "203.0.113.9"},
	}
	for _, tc := range cases {
		r := httptest.NewRequest("POST", "/", nil)
		r.RemoteAddr = tc.peer
		for _, v := range tc.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := limiter.ClientAddr(r, trusted); got.String() != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}
