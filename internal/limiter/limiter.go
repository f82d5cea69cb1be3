package limiter

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/confab/confab/internal/clock"
)

// Keyed is a set of token buckets, one per key.
type Keyed struct {
	clock   clock.Clock
	maxKeys int

	mu      sync.Mutex // guards the following
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

// NewKeyed returns a Keyed limiter holding at most maxKeys buckets
// (default 100,000 when maxKeys <= 0).
func NewKeyed(c clock.Clock, maxKeys int) *Keyed {
	if maxKeys <= 0 {
		maxKeys = 100_000
	}
	return &Keyed{clock: c, maxKeys: maxKeys, buckets: map[string]*bucket{}}
}

// Allow takes one token from key's bucket, which refills at perSecond up
// to burst, and reports whether there was one. perSecond <= 0 allows all.
func (k *Keyed) Allow(key string, perSecond float64, burst int) bool {
	if perSecond <= 0 {
		return true
	}
	cap := float64(max(burst, 1))
	now := k.clock.Now()
	k.mu.Lock()
	defer k.mu.Unlock()
	b := k.buckets[key]
	if b == nil {
		if len(k.buckets) >= k.maxKeys {
			k.evictLocked(now, perSecond, cap)
		}
		b = &bucket{tokens: cap, at: now}
		k.buckets[key] = b
	}
	if d := now.Sub(b.at); d > 0 {
		b.tokens = min(cap, b.tokens+d.Seconds()*perSecond)
		b.at = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// Len returns how many buckets are held (for tests).
func (k *Keyed) Len() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.buckets)
}

// evictLocked drops the buckets that are full again; if none is, the
// least recently used quarter.
func (k *Keyed) evictLocked(now time.Time, perSecond, cap float64) {
	for key, b := range k.buckets {
		if b.tokens+now.Sub(b.at).Seconds()*perSecond >= cap {
			delete(k.buckets, key)
		}
	}
	if len(k.buckets) < k.maxKeys {
		return
	}
	var oldest time.Time
	for _, b := range k.buckets {
		if oldest.IsZero() || b.at.Before(oldest) {
			oldest = b.at
		}
	}
	cut := oldest.Add(now.Sub(oldest) / 4)
	for key, b := range k.buckets {
		if !b.at.After(cut) {
			delete(k.buckets, key)
		}
	}
}

// ClientAddr returns the address a request is counted against: its peer
// address, unless the peer is one of the trusted proxies, when it is the
// nearest address in X-Forwarded-For that is not a trusted proxy (read from
// the right, as each proxy appends the address it saw). A forwarded value
// that does not parse stops the walk at the last good address.
func ClientAddr(r *http.Request, trusted []netip.Prefix) netip.Addr {
	peer := parseAddr(r.RemoteAddr)
	if !isTrusted(peer, trusted) {
		return peer
	}
	addr := peer
	hops := r.Header.Values("X-Forwarded-For")
	for i := len(hops) - 1; i >= 0; i-- {
		parts := strings.Split(hops[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			a, err := netip.ParseAddr(strings.TrimSpace(parts[j]))
			if err != nil {
				return addr
			}
			addr = a.Unmap()
			if !isTrusted(addr, trusted) {
				return addr
			}
		}
	}
	return addr
}

func parseAddr(hostport string) netip.Addr {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	if !a.IsValid() {
		return false
	}
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
