package esp

import (
	"encoding/json"
	"net/http"

	"github.com/confab/confab/client/internal/directcall"
	"github.com/confab/confab/client/internal/jsonscan"
)

// do sends a call, straight to the Transport where the http.Client adds
// nothing to it (directcall).
func (c *Client) do(req *http.Request) (*http.Response, error) {
	return directcall.Do(c.hc, req)
}

// decodeReply decodes a success answer into r by hand when it can
// (client/internal/jsonscan; SessionInfo goes to encoding/json), and with
// encoding/json as a whole otherwise, so the result is always what
// json.Unmarshal gives.
func decodeReply(data []byte, r *Reply) error {
	var sc jsonscan.Scanner
	sc.Reset(data)
	if scanReply(&sc, r) && sc.End() {
		return nil
	}
	*r = Reply{}
	return json.Unmarshal(data, r)
}

// replyKeys are Reply's JSON names in scanReply's order: a key matching
// one only case-insensitively is left to encoding/json.
var replyKeys = []string{"OccuredAt", "ScriptPos", "IsClosed", "SessionInfo"}

func replyIndex(key string) int {
	switch key {
	case "OccuredAt":
		return 0
	case "ScriptPos":
		return 1
	case "IsClosed":
		return 2
	case "SessionInfo":
		return 3
	}
	return 4
}

func scanReply(sc *jsonscan.Scanner, r *Reply) bool {
	if !sc.Object() {
		return false
	}
	var mask uint32
	for first := true; ; first = false {
		k, ok := sc.Key(first)
		if !ok {
			break
		}
		bit := replyIndex(k)
		if bit == len(replyKeys) {
			if jsonscan.Folds(k, replyKeys) {
				sc.Fail()
			} else {
				sc.Skip()
			}
			continue
		}
		if mask&(1<<uint(bit)) != 0 {
			sc.Fail() // a duplicate: encoding/json merges or replaces
		}
		mask |= 1 << uint(bit)
		if sc.Null() {
			continue
		}
		switch bit {
		case 0:
			r.OccuredAt = sc.String()
		case 1:
			n := int(sc.Int())
			r.ScriptPos = &n
		case 2:
			n := int(sc.Int())
			r.IsClosed = &n
		case 3:
			raw := sc.Skip()
			if !sc.Failed() && json.Unmarshal([]byte(raw), &r.SessionInfo) != nil {
				sc.Fail()
			}
		}
	}
	return !sc.Failed()
}
