package history

import (
	"bytes"
	"slices"
	"time"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/jsonw"
)

// userIDField follows utcTime (and timeShift) in a stored event; the
// fields before it are numbers and the kind's name, so its first
// occurrence in an event's bytes is that field.
const userIDField = `,"userId":`

// appendFinal appends the final transcript's form of ev (already the
// stored copy, ForStore(true)): appendStored's bytes, which are those of
// EncodeEvent without its timeShift, with the timeShift put before the
// userId where it is not 0 (omitempty). ok is false when the event needs
// encoding/json (then dst is as it was).
// TestAppendFinalMatchesEncodingJSON compares the bytes.
func appendFinal(dst []byte, ev *chat.Event, sessionStart time.Time) (_ []byte, ok bool) {
	at := len(dst)
	if dst, ok = appendStored(dst, ev, nil); !ok {
		return dst[:at], false
	}
	shift := int64(ev.Time.Sub(sessionStart) / time.Second)
	if shift == 0 {
		return dst, true
	}
	i := bytes.Index(dst[at:], []byte(userIDField))
	if i < 0 {
		return dst[:at], false
	}
	var field [40]byte
	ins := jsonw.Int(append(field[:0], `,"timeShift":`...), shift)
	return slices.Insert(dst, at+i, ins...), true
}
