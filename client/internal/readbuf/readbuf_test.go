package readbuf_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/confab/confab/client/internal/readbuf"
)

func TestAppend(t *testing.T) {
	long := strings.Repeat("x", 10_000)
	for _, tt := range []struct {
		name, prefix, in string
		capacity         int
	}{
		{"empty", "", "", 0},
		{"into nil", "", "hello", 0},
		{"fits", "", "hello", 64},
		{"grows", "", long, 16},
		{"after contents", "ab", "cd", 8},
	} {
		buf := append(make([]byte, 0, tt.capacity), tt.prefix...)
		got, err := readbuf.Append(iotest.OneByteReader(strings.NewReader(tt.in)), buf)
		if err != nil || string(got) != tt.prefix+tt.in {
			t.Errorf("%s: got %d bytes %.20q, %v", tt.name, len(got), got, err)
		}
	}
	// A buffer large enough is reused, not reallocated.
	buf := make([]byte, 0, 1<<16)
	got, _ := readbuf.Append(strings.NewReader(long), buf)
	if &got[0] != &buf[:1][0] {
		t.Error("a large enough buffer was not reused")
	}
	// A failing reader: what was read, and the error.
	boom := errors.New("boom")
	got, err := readbuf.Append(io.MultiReader(strings.NewReader("part"), iotest.ErrReader(boom)), nil)
	if !errors.Is(err, boom) || !bytes.Equal(got, []byte("part")) {
		t.Errorf("failing reader: %q, %v", got, err)
	}
}
