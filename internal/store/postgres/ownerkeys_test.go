package postgres_test

import (
	"context"
	"errors"
	"testing"

	"github.com/confab/confab/internal/store"
)

// TestOwnerByKey: a session owned with its key's hash is found by it while
// it lives — also after another node claims it — and no longer once it is
// released; another key, an empty hash and a session owned without a
// hash are not found.
func TestOwnerByKey(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	if err := s.OwnNewKeyed(ctx, "k1", "node-a", store.KeyHash("key-one")).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.OwnNewKeyed(ctx, "k1", "node-b", store.KeyHash("key-one")).Wait(ctx); !errors.Is(err, store.ErrExists) {
		t.Fatalf("second OwnNewKeyed: %v, want ErrExists", err)
	}
	if err := s.OwnNew(ctx, "k2", "node-a").Wait(ctx); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		what string
		hash []byte
		want string
	}{
		{"its key", store.KeyHash("key-one"), "k1"},
		{"another key", store.KeyHash("key-two"), ""},
		{"the empty key", store.KeyHash(""), ""},
		{"no hash", nil, ""},
	} {
		id, err := s.OwnerByKey(ctx, c.hash)
		if c.want == "" {
			if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s: %q, %v; want ErrNotFound", c.what, id, err)
			}
			continue
		}
		if err != nil || id != c.want {
			t.Errorf("%s: %q, %v; want %s", c.what, id, err, c.want)
		}
	}
	o, err := s.GetOwner(ctx, "k1")
	if err != nil {
		t.Fatal(err)
	}
	o, err = s.Claim(ctx, o, "node-b")
	if err != nil {
		t.Fatal(err)
	}
	if id, err := s.OwnerByKey(ctx, store.KeyHash("key-one")); err != nil || id != "k1" {
		t.Fatalf("after a claim: %q, %v", id, err)
	}
	if err := s.Release(ctx, "k1", o.Epoch); err != nil {
		t.Fatal(err)
	}
	if id, err := s.OwnerByKey(ctx, store.KeyHash("key-one")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after the release: %q, %v; want ErrNotFound", id, err)
	}
}
