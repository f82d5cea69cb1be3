package bench

import (
	"os"
	"testing"
	"time"
)

func TestParseSwitches(t *testing.T) {
	for _, tc := range []struct {
		name       string
		status     string
		vol, invol int64
	}{
		{"both", "Name:\tconfab\nvoluntary_ctxt_switches:\t152\nnonvoluntary_ctxt_switches:\t7\n", 152, 7},
		{"spaces", "voluntary_ctxt_switches:   3 \nnonvoluntary_ctxt_switches:  0\n", 3, 0},
		{"missing", "Name:\tconfab\nThreads:\t4\n", 0, 0},
		{"garbage value", "voluntary_ctxt_switches:\tmany\nnonvoluntary_ctxt_switches:\t9\n", 0, 9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, n := parseSwitches(tc.status)
			if v != tc.vol || n != tc.invol {
				t.Errorf("got %d, %d; want %d, %d", v, n, tc.vol, tc.invol)
			}
		})
	}
}

// TestReadSwitchesSelf sums this process's threads: sleeping goroutines
// put their threads to sleep, so the voluntary count grows.
func TestReadSwitchesSelf(t *testing.T) {
	before, err := ReadSwitches(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		time.Sleep(2 * time.Millisecond)
	}
	after, err := ReadSwitches(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if after.Voluntary <= before.Voluntary {
		t.Errorf("voluntary switches %d then %d: the sleeps were not counted", before.Voluntary, after.Voluntary)
	}
	if _, err := ReadSwitches(-1); err == nil {
		t.Error("ReadSwitches(-1): no error")
	}
}

func TestPerMessage(t *testing.T) {
	if got := perMessage(1, 3); got != 0.333 {
		t.Errorf("perMessage(1, 3) = %v", got)
	}
	if got := perMessage(5, 0); got != 0 {
		t.Errorf("perMessage(5, 0) = %v", got)
	}
}
