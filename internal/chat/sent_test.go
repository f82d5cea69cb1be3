package chat

import (
	"strconv"
	"testing"
)

// TestSentIndex records idempotent sends of two senders through the
// positions list and past it into the map, and checks that each is found
// at its position, that an id is its sender's only, and that forget drops
// exactly the record asked for.
func TestSentIndex(t *testing.T) {
	for _, n := range []int{1, sentFew, sentFew + 1, 3 * sentFew} {
		var tr transcript
		var x sentIndex
		senders := []string{"customer", "agent"}
		for i := 0; i < n; i++ {
			from, id := senders[i%2], "m"+strconv.Itoa(i/2)
			tr.add(&Event{Pos: i, Kind: Message, From: Party{UserID: from}, ClientMsgID: id})
			x.add(&tr, from, id, i)
		}
		if (x.many != nil) != (n > sentFew) {
			t.Errorf("n=%d: map built %v", n, x.many != nil)
		}
		for i := 0; i < n; i++ {
			from, id := senders[i%2], "m"+strconv.Itoa(i/2)
			if pos, ok := x.find(&tr, from, id); !ok || pos != i {
				t.Errorf("n=%d: find(%s, %s) = %d, %v; want %d", n, from, id, pos, ok, i)
			}
		}
		if _, ok := x.find(&tr, "customer", "m"+strconv.Itoa(n)); ok {
			t.Errorf("n=%d: an id never sent was found", n)
		}
		if n >= 2 {
			if _, ok := x.find(&tr, "nobody", "m0"); ok {
				t.Errorf("n=%d: another sender's id was found", n)
			}
			x.forget(&tr, "customer", "m0", 1) // not the position it names: kept
			if _, ok := x.find(&tr, "customer", "m0"); !ok {
				t.Errorf("n=%d: forget of another position dropped the record", n)
			}
			x.forget(&tr, "customer", "m0", 0)
			if _, ok := x.find(&tr, "customer", "m0"); ok {
				t.Errorf("n=%d: forgotten id still found", n)
			}
			if pos, ok := x.find(&tr, "agent", "m0"); !ok || pos != 1 {
				t.Errorf("n=%d: forget dropped another sender's record (%d, %v)", n, pos, ok)
			}
		}
	}
}
