package agent

import "testing"

// TestRunnersQueueOrder: the runners' queue gives watchers back in the
// order they were queued while it is compacted (taken mostly, pushed
// again) and reused from its start once drained, and its array does not
// grow without bound under a steady flow.
func TestRunnersQueueOrder(t *testing.T) {
	r := newRunners(1)
	ws := make([]*watcher, 5000)
	for i := range ws {
		ws[i] = &watcher{pos: i}
	}
	next, pushed := 0, 0
	maxCap := 0
	for round := range 80 {
		for range 100 + round%7 { // push a little more than is taken
			r.queue = append(r.queue, ws[pushed%len(ws)])
			pushed++
		}
		for range 100 {
			w := r.pop()
			if w.pos != next%len(ws) {
				t.Fatalf("round %d: popped watcher %d, want %d", round, w.pos, next%len(ws))
			}
			next++
		}
		maxCap = max(maxCap, cap(r.queue))
	}
	for r.head < len(r.queue) {
		if w := r.pop(); w.pos != next%len(ws) {
			t.Fatalf("draining: popped watcher %d, want %d", w.pos, next%len(ws))
		}
		next++
	}
	if next != pushed {
		t.Fatalf("popped %d, pushed %d", next, pushed)
	}
	if r.head != 0 || len(r.queue) != 0 {
		t.Fatalf("drained queue: head %d, len %d, want 0, 0", r.head, len(r.queue))
	}
	for i, w := range r.queue[:cap(r.queue)] {
		if w != nil {
			t.Fatalf("the drained queue's array still holds watcher %d at %d", w.pos, i)
		}
	}
	if maxCap > 4096 {
		t.Errorf("the queue's array grew to %d for at most %d queued", maxCap, pushed-next+300)
	}
	if running, queued := r.counts(); running != 0 || queued != 0 {
		t.Errorf("counts: %d running, %d queued", running, queued)
	}
}
