package chat

import (
	"reflect"
	"strconv"
	"testing"

	"github.com/confab/confab/internal/kv"
)

// TestQuitAttrsShared: a customer's departure attributes name its reason,
// the known reasons' maps are made once and shared, and a reason past
// them still gets its own.
func TestQuitAttrsShared(t *testing.T) {
	e := &Engine{quitMaps: newQuitMaps()}
	for _, r := range []LeaveReason{LeftNormally, LeftDisconnect, RemovedIdle, RemovedRestore, RemovedRestore + 3} {
		want := kv.Map{KeySystem: kv.Map{"quit-reason-code": strconv.Itoa(int(r))}}
		a, b := e.quitAttrs(r), e.quitAttrs(r)
		if !reflect.DeepEqual(a, want) {
			t.Errorf("reason %d: %v, want %v", r, a, want)
		}
		shared := reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
		if known := int(r) < len(e.quitMaps); shared != known {
			t.Errorf("reason %d: shared %v, want %v", r, shared, known)
		}
	}
}
