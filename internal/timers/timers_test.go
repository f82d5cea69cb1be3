package timers_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/timers"
)

var epoch = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

// owner records when it expired.
type owner struct {
	name  string
	e     timers.Entry
	mu    sync.Mutex
	fired []time.Time
	then  func(now time.Time) // optional: runs inside Expire
	log   *[]string
}

func (o *owner) Expire(now time.Time) {
	o.mu.Lock()
	o.fired = append(o.fired, now)
	o.mu.Unlock()
	if o.log != nil {
		*o.log = append(*o.log, o.name)
	}
	if o.then != nil {
		o.then(now)
	}
}

func newOwner(name string, log *[]string) *owner {
	o := &owner{name: name, log: log}
	o.e.Init(o)
	return o
}

func TestOrderRescheduleCancel(t *testing.T) {
	for _, tc := range []struct {
		name string
		ops  func(s *timers.Scheduler, o map[string]*owner)
		want []string // expiry order after advancing 1 h
	}{
		{"deadline order", func(s *timers.Scheduler, o map[string]*owner) {
			s.Schedule(&o["c"].e, epoch.Add(3*time.Second))
			s.Schedule(&o["a"].e, epoch.Add(1*time.Second))
			s.Schedule(&o["b"].e, epoch.Add(2*time.Second))
		}, []string{"a", "b", "c"}},
		{"moved earlier", func(s *timers.Scheduler, o map[string]*owner) {
			s.Schedule(&o["a"].e, epoch.Add(10*time.Second))
			s.Schedule(&o["b"].e, epoch.Add(5*time.Second))
			s.Schedule(&o["a"].e, epoch.Add(1*time.Second))
		}, []string{"a", "b"}},
		{"moved later", func(s *timers.Scheduler, o map[string]*owner) {
			s.Schedule(&o["a"].e, epoch.Add(1*time.Second))
			s.Schedule(&o["b"].e, epoch.Add(5*time.Second))
			s.Schedule(&o["a"].e, epoch.Add(9*time.Second))
		}, []string{"b", "a"}},
		{"cancelled", func(s *timers.Scheduler, o map[string]*owner) {
			s.Schedule(&o["a"].e, epoch.Add(1*time.Second))
			s.Schedule(&o["b"].e, epoch.Add(2*time.Second))
			s.Schedule(&o["c"].e, epoch.Add(3*time.Second))
			s.Cancel(&o["b"].e)
			s.Cancel(&o["b"].e) // twice is harmless
		}, []string{"a", "c"}},
		{"one deadline per owner", func(s *timers.Scheduler, o map[string]*owner) {
			s.Schedule(&o["a"].e, epoch.Add(1*time.Second))
			s.Schedule(&o["a"].e, epoch.Add(2*time.Second))
			s.Schedule(&o["a"].e, epoch.Add(3*time.Second))
		}, []string{"a"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := clock.NewFake(epoch)
			s := timers.New(fake)
			var log []string
			o := map[string]*owner{"a": newOwner("a", &log), "b": newOwner("b", &log), "c": newOwner("c", &log)}
			tc.ops(s, o)
			if n := fake.Pending(); n > 1 {
				t.Errorf("%d clock timers pending, want at most 1", n)
			}
			fake.Advance(time.Hour)
			if !slices.Equal(log, tc.want) {
				t.Errorf("expired %v, want %v", log, tc.want)
			}
			if s.Len() != 0 {
				t.Errorf("%d deadlines left", s.Len())
			}
		})
	}
}

// TestExpiresAtDeadline checks owners run at their deadline and not before,
// and that an owner re-scheduling itself from Expire is honoured.
func TestExpiresAtDeadline(t *testing.T) {
	fake := clock.NewFake(epoch)
	s := timers.New(fake)
	o := newOwner("a", nil)
	count := 0
	o.then = func(now time.Time) {
		count++
		if count < 3 {
			s.Schedule(&o.e, now.Add(10*time.Second))
		}
	}
	s.Schedule(&o.e, epoch.Add(10*time.Second))
	fake.Advance(9 * time.Second)
	if len(o.fired) != 0 {
		t.Fatal("expired before its deadline")
	}
	fake.Advance(time.Second)
	if len(o.fired) != 1 || !o.fired[0].Equal(epoch.Add(10*time.Second)) {
		t.Fatalf("fired %v, want once at +10s", o.fired)
	}
	fake.Advance(time.Minute)
	if len(o.fired) != 3 || !o.fired[2].Equal(epoch.Add(30*time.Second)) {
		t.Fatalf("fired %v, want three times, the last at +30s", o.fired)
	}
	if s.Fired() != 3 {
		t.Errorf("Fired() = %d, want 3", s.Fired())
	}
}

// TestRandomMatchesSort schedules, moves and cancels many entries at random
// and checks they expire in deadline order, each exactly once.
func TestRandomMatchesSort(t *testing.T) {
	fake := clock.NewFake(epoch)
	s := timers.New(fake)
	rng := rand.New(rand.NewPCG(1, 2))
	var log []string
	owners := make([]*owner, 500)
	want := map[string]time.Time{}
	for i := range owners {
		owners[i] = newOwner(fmt.Sprint(i), &log)
	}
	for range 3000 {
		o := owners[rng.IntN(len(owners))]
		if rng.IntN(5) == 0 {
			s.Cancel(&o.e)
			delete(want, o.name)
			continue
		}
		at := epoch.Add(time.Duration(1+rng.IntN(100000)) * time.Millisecond)
		s.Schedule(&o.e, at)
		want[o.name] = at
	}
	if s.Len() != len(want) {
		t.Fatalf("Len = %d, want %d", s.Len(), len(want))
	}
	fake.Advance(time.Hour)
	if len(log) != len(want) {
		t.Fatalf("%d expiries, want %d", len(log), len(want))
	}
	for i := 1; i < len(log); i++ {
		if want[log[i]].Before(want[log[i-1]]) {
			t.Fatalf("%s (%v) expired after %s (%v)", log[i], want[log[i]], log[i-1], want[log[i-1]])
		}
	}
}

func TestStop(t *testing.T) {
	fake := clock.NewFake(epoch)
	s := timers.New(fake)
	o := newOwner("a", nil)
	s.Schedule(&o.e, epoch.Add(time.Second))
	s.Stop()
	s.Schedule(&o.e, epoch.Add(2*time.Second))
	fake.Advance(time.Minute)
	if len(o.fired) != 0 || s.Len() != 0 || fake.Pending() != 0 {
		t.Fatalf("after Stop: fired %v, %d pending, %d clock timers", o.fired, s.Len(), fake.Pending())
	}
}
