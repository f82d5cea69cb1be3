package chat

import "testing"

// TestTranscriptGrowth checks that every event stays reachable at its
// position as the transcript grows, and that the first block grows by
// doubling (8, 16, 32) rather than straight to a whole block, which a
// short session would hold mostly empty.
func TestTranscriptGrowth(t *testing.T) {
	for _, tc := range []struct {
		n         int
		firstCap  int
		numBlocks int
	}{
		{1, 8, 1},
		{8, 8, 1},
		{9, 16, 1},
		{16, 16, 1},
		{17, 32, 1},
		{32, 32, 1},
		{33, 32, 2},
		{100, 32, 4},
	} {
		var tr transcript
		for i := 0; i < tc.n; i++ {
			st := tr.add(&Event{Pos: i, Text: "m"})
			if st.Pos != i {
				t.Fatalf("n=%d: add returned the event at %d, want %d", tc.n, st.Pos, i)
			}
		}
		if tr.len() != tc.n {
			t.Errorf("n=%d: len %d", tc.n, tr.len())
		}
		for i := 0; i < tc.n; i++ {
			if got := tr.at(i).Pos; got != i {
				t.Errorf("n=%d: at(%d).Pos = %d", tc.n, i, got)
			}
		}
		if got := cap(tr.blocks[0]); got != tc.firstCap {
			t.Errorf("n=%d: first block's capacity %d, want %d", tc.n, got, tc.firstCap)
		}
		if got := len(tr.blocks); got != tc.numBlocks {
			t.Errorf("n=%d: %d blocks, want %d", tc.n, got, tc.numBlocks)
		}
	}
}
