package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/confab/confab/internal/store"
)

// Opener opens a fresh, empty store for one test and arranges (with
// t.Cleanup) for it to be closed. The suite may Close it earlier; Close is
// idempotent.
type Opener func(t *testing.T) store.Store

// Run runs the conformance suite against the stores open returns.
func Run(t *testing.T, open Opener) {
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"IdentifyContact", testIdentifyContact},
		{"IdentifyContactConcurrent", testIdentifyContactConcurrent},
		{"Interactions", testInteractions},
		{"CloseInteraction", testCloseInteraction},
		{"CloseDropsEvents", testCloseDropsEvents},
		{"CloseComposesFinal", testCloseComposesFinal},
		{"RoutingUpdates", testRoutingUpdates},
		{"ListInteractions", testListInteractions},
		{"ContactInteractions", testContactInteractions},
		{"Events", testEvents},
		{"EventReplay", testEventReplay},
		{"EventsInvalid", testEventsInvalid},
		{"DeferredEvents", testDeferredEvents},
		{"DeleteEvents", testDeleteEvents},
		{"EventOrdering", testEventOrdering},
		{"EventsConcurrent", testEventsConcurrent},
		{"Documents", testDocuments},
		{"DocumentLimits", testDocumentLimits},
		{"DocumentFiles", testDocumentFiles},
		{"DocumentDownloads", testDocumentDownloads},
		{"DocumentRetention", testDocumentRetention},
		{"Outbox", testOutbox},
		{"Agents", testAgents},
		{"AgentRouting", testAgentRouting},
		{"ListByContact", testListByContact},
		{"Settings", testSettings},
		{"InsertSetting", testInsertSetting},
		{"PIIRules", testPIIRules},
		{"StandardResponses", testStandardResponses},
		{"Close", testClose},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

// at returns a fixed, microsecond-precise time plus sec seconds.
func at(sec int) time.Time {
	return time.Date(2026, 3, 1, 9, 30, 0, 123456000, time.UTC).Add(time.Duration(sec) * time.Second)
}

func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want %v", what, err, target)
	}
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func raw(s string) json.RawMessage { return json.RawMessage(s) }

func sameJSON(a, b json.RawMessage) bool { return bytes.Equal(a, b) }

// appendWait appends one event and waits until it is durable.
func appendWait(t *testing.T, s store.Store, e store.EventRow) error {
	t.Helper()
	return s.AppendEvent(context.Background(), e).Wait(context.Background())
}
