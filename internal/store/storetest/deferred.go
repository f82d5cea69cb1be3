package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/confab/confab/internal/store"
)

// encoderFunc is a store.EventEncoder that counts its calls.
type encoderFunc struct {
	data  json.RawMessage
	err   error
	calls atomic.Int32
}

func (e *encoderFunc) EncodeEvent() (json.RawMessage, error) {
	e.calls.Add(1)
	return e.data, e.err
}

// appenderFunc is an encoderFunc that also appends (store.EventAppender):
// a writer may encode it into a buffer of its own.
type appenderFunc struct{ encoderFunc }

func (e *appenderFunc) AppendEvent(dst []byte) ([]byte, error) {
	e.calls.Add(1)
	if e.err != nil {
		return dst, e.err
	}
	return append(dst, e.data...), nil
}

// testDeferredEvents checks events whose Data the store's writer encodes
// (EventRow.Encoder): they are stored as if Data had been given, a replay
// of either form is recognised, and a failing encoder is an invalid event
// that does not take its session's later events down with it in other
// batches.
func testDeferredEvents(t *testing.T, s store.Store) {
	ctx := context.Background()
	enc := &encoderFunc{data: raw(`{"deferred":true,"pos":0}`)}
	e0 := store.EventRow{SessionID: "E", Position: 0, EventID: 1, Time: at(0), Encoder: enc}
	must(t, "AppendEvent deferred", appendWait(t, s, e0))
	if enc.calls.Load() == 0 {
		t.Fatalf("the store wrote a deferred event without calling its encoder")
	}
	want0 := store.EventRow{SessionID: "E", Position: 0, EventID: 1, Time: at(0), Data: enc.data}
	checkEvents(t, s, "E", want0)

	// A replay, deferred or given, of the same bytes is a no-op; other bytes conflict.
	must(t, "replay deferred", appendWait(t, s, e0))
	must(t, "replay with data", appendWait(t, s, want0))
	other := store.EventRow{SessionID: "E", Position: 0, EventID: 1, Time: at(0),
		Encoder: &encoderFunc{data: raw(`{"deferred":false}`)}}
	wantErr(t, "conflicting deferred replay", appendWait(t, s, other), store.ErrConflict)

	// A failing encoder, or one that gives nil, is refused as invalid.
	bad := store.EventRow{SessionID: "E", Position: 1, EventID: 2, Time: at(1),
		Encoder: &encoderFunc{err: errors.New("cannot encode")}}
	wantErr(t, "failing encoder", appendWait(t, s, bad), store.ErrInvalid)
	badApp := store.EventRow{SessionID: "E", Position: 1, EventID: 2, Time: at(1),
		Encoder: &appenderFunc{encoderFunc{err: errors.New("cannot encode")}}}
	wantErr(t, "failing appender", appendWait(t, s, badApp), store.ErrInvalid)
	nilData := store.EventRow{SessionID: "E", Position: 1, EventID: 2, Time: at(1), Encoder: &encoderFunc{}}
	wantErr(t, "encoder giving nil", appendWait(t, s, nilData), store.ErrInvalid)

	// Given and deferred rows (encoders and appenders) mix in one batch,
	// in order, each with its own bytes.
	var tickets []store.Ticket
	var want []store.EventRow
	for i := int64(1); i <= 24; i++ {
		e := event("F", i-1)
		want = append(want, e)
		switch i % 4 {
		case 2:
			e.Encoder, e.Data = &encoderFunc{data: e.Data}, nil
		case 0, 3:
			e.Encoder, e.Data = &appenderFunc{encoderFunc{data: e.Data}}, nil
		}
		tickets = append(tickets, s.AppendEvent(ctx, e))
	}
	for _, tk := range tickets {
		must(t, "mixed batch ticket", tk.Wait(ctx))
	}
	checkEvents(t, s, "F", want...)
}
