package runq

import "testing"

type item struct{ pos int }

// TestQueueOrder: the queue gives items back in the order they were
// queued while it is compacted (taken mostly, pushed again) and reused
// from its start once drained, and its array does not grow without bound
// under a steady flow.
func TestQueueOrder(t *testing.T) {
	p := New(1, func(*item) {})
	its := make([]*item, 5000)
	for i := range its {
		its[i] = &item{pos: i}
	}
	next, pushed := 0, 0
	maxCap := 0
	for round := range 80 {
		for range 100 + round%7 { // push a little more than is taken
			p.queue = append(p.queue, its[pushed%len(its)])
			pushed++
		}
		for range 100 {
			it := p.pop()
			if it.pos != next%len(its) {
				t.Fatalf("round %d: popped item %d, want %d", round, it.pos, next%len(its))
			}
			next++
		}
		maxCap = max(maxCap, cap(p.queue))
	}
	for p.head < len(p.queue) {
		if it := p.pop(); it.pos != next%len(its) {
			t.Fatalf("draining: popped item %d, want %d", it.pos, next%len(its))
		}
		next++
	}
	if next != pushed {
		t.Fatalf("popped %d, pushed %d", next, pushed)
	}
	if p.head != 0 || len(p.queue) != 0 {
		t.Fatalf("drained queue: head %d, len %d, want 0, 0", p.head, len(p.queue))
	}
	for i, it := range p.queue[:cap(p.queue)] {
		if it != nil {
			t.Fatalf("the drained queue's array still holds item %d at %d", it.pos, i)
		}
	}
	if maxCap > 4096 {
		t.Errorf("the queue's array grew to %d for at most %d queued", maxCap, pushed-next+300)
	}
	if running, queued := p.Counts(); running != 0 || queued != 0 {
		t.Errorf("counts: %d running, %d queued", running, queued)
	}
}
