package storetest

import (
	"context"
	"sync"
	"testing"

	"github.com/confab/confab/internal/store"
)

// defaultKeys is the identification order the tests use by default.
func defaultKeys() []string { return []string{store.AttrEmailAddress, store.AttrPhoneNumber} }

func testIdentifyContact(t *testing.T, s store.Store) {
	ctx := context.Background()
	identify := func(attrs map[string]string, keys []string, create bool) (string, bool) {
		t.Helper()
		id, created, err := s.IdentifyContact(ctx, attrs, keys, create)
		must(t, "IdentifyContact", err)
		return id, created
	}

	// A new customer is created with all its attributes, trimmed.
	alice, created := identify(map[string]string{
		store.AttrEmailAddress: "  Alice@Example.COM ", store.AttrFirstName: "Alice ", store.AttrLastName: "",
	}, defaultKeys(), true)
	if alice == "" || !created {
		t.Fatalf("new contact: got %q created=%v", alice, created)
	}
	c, err := s.GetContact(ctx, alice)
	must(t, "GetContact", err)
	want := map[string]string{store.AttrEmailAddress: "Alice@Example.COM", store.AttrFirstName: "Alice"}
	if len(c.Attributes) != len(want) || c.Attributes[store.AttrEmailAddress] != want[store.AttrEmailAddress] ||
		c.Attributes[store.AttrFirstName] != want[store.AttrFirstName] {
		t.Fatalf("attributes: got %v, want %v", c.Attributes, want)
	}
	if c.ID != alice || c.CreatedAt.IsZero() {
		t.Fatalf("contact: got %+v", c)
	}

	// The e-mail address matches case-insensitively and trimmed.
	if id, created := identify(map[string]string{store.AttrEmailAddress: "alice@example.com"}, defaultKeys(), true); id != alice || created {
		t.Fatalf("same e-mail: got %q created=%v, want %q", id, created, alice)
	}
	if id, _ := identify(map[string]string{store.AttrEmailAddress: "ALICE@EXAMPLE.COM  "}, defaultKeys(), false); id != alice {
		t.Fatalf("same e-mail, identify only: got %q, want %q", id, alice)
	}

	// Without an e-mail address the second key identifies.
	bob, created := identify(map[string]string{store.AttrEmailAddress: "bob@example.com", store.AttrPhoneNumber: "+1 555 0100"}, defaultKeys(), true)
	if !created || bob == alice {
		t.Fatalf("second contact: got %q created=%v", bob, created)
	}
	if id, created := identify(map[string]string{store.AttrPhoneNumber: " +1 555 0100 "}, defaultKeys(), true); id != bob || created {
		t.Fatalf("by phone: got %q created=%v, want %q", id, created, bob)
	}
	// A blank e-mail address counts as absent.
	if id, _ := identify(map[string]string{store.AttrEmailAddress: "  ", store.AttrPhoneNumber: "+1 555 0100"}, defaultKeys(), false); id != bob {
		t.Fatalf("blank e-mail, by phone: got %q, want %q", id, bob)
	}
	// Only the first present key decides: a new e-mail address is not
	// linked through a known phone number.
	if id, created := identify(map[string]string{store.AttrEmailAddress: "carol@example.com", store.AttrPhoneNumber: "+1 555 0100"}, defaultKeys(), false); id != "" || created {
		t.Fatalf("new e-mail with known phone, identify only: got %q created=%v", id, created)
	}
	// The keys' order is the caller's.
	if id, _ := identify(map[string]string{store.AttrEmailAddress: "carol@example.com", store.AttrPhoneNumber: "+1 555 0100"},
		[]string{store.AttrPhoneNumber, store.AttrEmailAddress}, false); id != bob {
		t.Fatalf("phone first: got %q, want %q", id, bob)
	}
	// Other keys compare case-sensitively.
	k1, _ := identify(map[string]string{"CustomerId": "ab12"}, []string{"CustomerId"}, true)
	k2, created := identify(map[string]string{"CustomerId": "AB12"}, []string{"CustomerId"}, true)
	if k1 == "" || k2 == "" || k1 == k2 || !created {
		t.Fatalf("CustomerId is case-sensitive: got %q and %q", k1, k2)
	}

	// No identifying key: no contact, whether create or not.
	for _, create := range []bool{true, false} {
		if id, created := identify(map[string]string{store.AttrFirstName: "Anonymous"}, defaultKeys(), create); id != "" || created {
			t.Fatalf("anonymous chat (create=%v): got %q created=%v", create, id, created)
		}
	}
	if id, created := identify(nil, defaultKeys(), true); id != "" || created {
		t.Fatalf("no attributes: got %q created=%v", id, created)
	}

	// create=false only identifies.
	if id, created := identify(map[string]string{store.AttrEmailAddress: "dave@example.com"}, defaultKeys(), false); id != "" || created {
		t.Fatalf("unknown e-mail, identify only: got %q created=%v", id, created)
	}
	if id, created := identify(map[string]string{store.AttrEmailAddress: "dave@example.com"}, defaultKeys(), false); id != "" || created {
		t.Fatalf("identify only created a contact: got %q created=%v", id, created)
	}

	_, err = s.GetContact(ctx, "no-such-contact")
	wantErr(t, "GetContact unknown", err, store.ErrNotFound)
}

func testIdentifyContactConcurrent(t *testing.T, s store.Store) {
	const n = 16
	ids := make([]string, n)
	created := make([]bool, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ids[i], created[i], errs[i] = s.IdentifyContact(context.Background(),
				map[string]string{store.AttrEmailAddress: "Erin@Example.com"}, defaultKeys(), true)
		})
	}
	wg.Wait()
	creations := 0
	for i := range n {
		must(t, "IdentifyContact", errs[i])
		if ids[i] != ids[0] {
			t.Fatalf("concurrent identification gave %q and %q", ids[0], ids[i])
		}
		if created[i] {
			creations++
		}
	}
	if creations != 1 {
		t.Fatalf("%d goroutines report creating the contact, want 1", creations)
	}
}
