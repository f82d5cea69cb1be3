// Package storetest is the conformance suite every store.Store
// implementation must pass (SQLite now, PostgreSQL later). A backend's tests
// call Run with a function that opens a fresh, empty store:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store {
//			s, err := sqlite.Open(t.Context(), t.TempDir(), sqlite.Options{})
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { s.Close(context.Background()) })
//			return s
//		})
//	}
//
// The suite checks behaviour through the interface only: every operation,
// not-found and conflict errors, contact identification rules, listing
// filters and order, the group-commit ordering guarantee, concurrent appends
// and Close. Subtests run in parallel, each on its own store.
//
// The suite is safe to run concurrently with other tests; it shares nothing
// between subtests but the Opener.
package storetest
