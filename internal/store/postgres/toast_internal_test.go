package postgres

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/confab/confab/internal/store"
)

// TestTranscriptCompression closes an interaction with a large final
// transcript and checks that PostgreSQL stored it compressed with lz4 when
// the server has lz4 (pglz otherwise): see toastCompression.
func TestTranscriptCompression(t *testing.T) {
	s := openInternal(t, 2)
	ctx := context.Background()
	var lz4 bool
	if err := s.pool.QueryRow(ctx, `SELECT 'lz4' = ANY (enumvals) FROM pg_settings WHERE name = 'default_toast_compression'`).Scan(&lz4); err != nil {
		t.Fatal(err)
	}
	want := "pglz"
	if lz4 {
		want = "lz4"
	}
	if err := s.CreateInteraction(ctx, store.Interaction{ID: "T", SessionID: "T", State: "queued"}); err != nil {
		t.Fatal(err)
	}
	doc := `{"messages":[` + strings.Repeat(`{"type":"Message","text":"hello hello hello"},`, 5000) + `{}]}`
	if err := s.CloseInteraction(ctx, "T", time.Unix(1_700_000_000, 0), store.Bytes([]byte(doc)), nil, nil); err != nil {
		t.Fatal(err)
	}
	var got string
	var stored, size int
	if err := s.pool.QueryRow(ctx, `SELECT pg_column_compression(transcript), pg_column_size(transcript), octet_length(transcript)
		FROM interactions WHERE id = 'T'`).Scan(&got, &stored, &size); err != nil {
		t.Fatal(err)
	}
	if got != want || size != len(doc) || stored >= size/4 {
		t.Fatalf("transcript of %d bytes stored in %d, compressed with %q; want %q", size, stored, got, want)
	}
	in, err := s.GetInteraction(ctx, "T")
	if err != nil || string(in.Transcript) != doc {
		t.Fatalf("transcript read back: %d bytes (%v), want %d", len(in.Transcript), err, len(doc))
	}
}
