package sqlite_test

import (
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/confab/confab/internal/store"
	"github.com/confab/confab/internal/store/sqlite"
)

// BenchmarkDocuments measures streaming an 8 MiB document into the store
// and back out (synchronous=FULL, the default).
func BenchmarkDocuments(b *testing.B) {
	const size = 8 << 20
	ctx := context.Background()
	s, err := sqlite.Open(ctx, b.TempDir(), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close(ctx)
	i := 0 // ids stay unique over the repeated runs of the sub-benchmarks
	b.Run("put", func(b *testing.B) {
		b.SetBytes(size)
		for b.Loop() {
			i++
			if _, err := s.PutDocument(ctx, store.Document{ID: fmt.Sprint("p", i), SessionID: "S"}, io.LimitReader(zeroes{}, size), size); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("read", func(b *testing.B) {
		i++
		id := fmt.Sprint("r", i)
		if _, err := s.PutDocument(ctx, store.Document{ID: id, SessionID: "S"}, io.LimitReader(zeroes{}, size), size); err != nil {
			b.Fatal(err)
		}
		b.SetBytes(size)
		for b.Loop() {
			_, rc, err := s.OpenDocument(ctx, id)
			if err != nil {
				b.Fatal(err)
			}
			if n, err := io.Copy(io.Discard, rc); err != nil || n != size {
				b.Fatal(n, err)
			}
			rc.Close()
		}
	})
}

type zeroes struct{}

func (zeroes) Read(p []byte) (int, error) { clear(p); return len(p), nil }
