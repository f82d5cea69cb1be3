package esp

import (
	"encoding/json"
	"net/http"

	wire "github.com/confab/confab/client/esp"
	"github.com/confab/confab/internal/jsonw"
)

// writeReply writes a method's reply: the bytes json.Encoder writes
// (TestAppendReplyMatchesEncoder), without its reflection for the replies
// every message and notice gets.
func writeReply(w http.ResponseWriter, reply wire.Reply) {
	w.Header()["Content-Type"] = jsonType
	if reply.SessionInfo != nil {
		json.NewEncoder(w).Encode(reply)
		return
	}
	var buf [96]byte
	w.Write(appendReply(buf[:0], reply))
}

// appendReply appends reply (with no SessionInfo) as json.Encoder writes it,
// the newline included.
func appendReply(dst []byte, reply wire.Reply) []byte {
	dst = append(dst, `{"OccuredAt":`...)
	dst = jsonw.String(dst, reply.OccuredAt)
	if reply.ScriptPos != nil {
		dst = append(dst, `,"ScriptPos":`...)
		dst = jsonw.Int(dst, int64(*reply.ScriptPos))
	}
	if reply.IsClosed != nil {
		dst = append(dst, `,"IsClosed":`...)
		dst = jsonw.Int(dst, int64(*reply.IsClosed))
	}
	return append(dst, "}\n"...)
}

// jsonType is the Content-Type header's value of a reply, shared by every
// reply (net/http copies the header when it writes it) instead of a new
// slice per reply (Header.Set).
var jsonType = []string{"application/json"}
