package cometd

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Message is one Bayeux message, in either direction. Unknown fields of a
// received message are ignored.
type Message struct {
	Channel                  string          `json:"channel"`
	ID                       json.RawMessage `json:"id,omitempty"`
	ClientID                 string          `json:"clientId,omitempty"`
	Successful               *bool           `json:"successful,omitempty"`
	Error                    string          `json:"error,omitempty"`
	Advice                   *Advice         `json:"advice,omitempty"`
	Data                     json.RawMessage `json:"data,omitempty"`
	Version                  string          `json:"version,omitempty"`
	MinimumVersion           string          `json:"minimumVersion,omitempty"`
	SupportedConnectionTypes []string        `json:"supportedConnectionTypes,omitempty"`
	ConnectionType           string          `json:"connectionType,omitempty"`
	Subscription             json.RawMessage `json:"subscription,omitempty"`
	Ext                      json.RawMessage `json:"ext,omitempty"`
}

// Advice tells a client how to reconnect (Bayeux §2.3.1).
type Advice struct {
	Reconnect string `json:"reconnect,omitempty"` // retry, handshake or none
	Interval  *int64 `json:"interval,omitempty"`  // ms to wait before the next connect
	Timeout   *int64 `json:"timeout,omitempty"`   // ms the server holds a connect
}

// Reconnect advice values.
const (
	ReconnectRetry     = "retry"
	ReconnectHandshake = "handshake"
	ReconnectNone      = "none"
)

// Meta channels.
const (
	ChannelHandshake   = "/meta/handshake"
	ChannelConnect     = "/meta/connect"
	ChannelSubscribe   = "/meta/subscribe"
	ChannelUnsubscribe = "/meta/unsubscribe"
	ChannelDisconnect  = "/meta/disconnect"
)

// Connection types (transports).
const (
	TransportWebSocket = "websocket"
	TransportLongPoll  = "long-polling"
	TransportCallback  = "callback-polling"
)

// serverTransports lists the connection types a handshake answer offers.
func serverTransports() []string {
	return []string{TransportWebSocket, TransportLongPoll, TransportCallback}
}

// Limits of the decoder.
const (
	maxBatch       = 100 // messages in one request
	maxChannelLen  = 256
	maxIDLen       = 64
	maxSubscribeCh = 16 // channels in one subscribe
)

// errBatch is a request body that is not a Bayeux batch at all.
var errBatch = errors.New("not a Bayeux message or array of messages")

// decodeBatch decodes a request body: one message object or an array of
// them (at most maxBatch). A message that is not an object makes the whole
// batch fail; the fields of each message are checked by check.
func decodeBatch(b []byte) ([]Message, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return nil, errBatch
	}
	var raws []json.RawMessage
	switch b[0] {
	case '[':
		if err := json.Unmarshal(b, &raws); err != nil {
			return nil, fmt.Errorf("%w: %v", errBatch, err)
		}
	case '{':
		raws = []json.RawMessage{b}
	default:
		return nil, errBatch
	}
	if len(raws) == 0 {
		return nil, fmt.Errorf("%w: empty array", errBatch)
	}
	if len(raws) > maxBatch {
		return nil, fmt.Errorf("%w: more than %d messages", errBatch, maxBatch)
	}
	out := make([]Message, len(raws))
	for i, r := range raws {
		r = bytes.TrimSpace(r)
		if len(r) == 0 || r[0] != '{' {
			return nil, fmt.Errorf("%w: message %d is not an object", errBatch, i+1)
		}
		if err := json.Unmarshal(r, &out[i]); err != nil {
			return nil, fmt.Errorf("%w: message %d: %v", errBatch, i+1, err)
		}
	}
	return out, nil
}

// check returns the Bayeux error of a decoded message's envelope ("" if
// it is well formed): a channel name, an id that is a short string or
// number, a data member that is an object when present.
func (m *Message) check() string {
	switch {
	case !validChannel(m.Channel):
		return bayeuxError(400, "", "channel missing or malformed")
	case len(m.ID) > 0 && !validID(m.ID):
		return bayeuxError(400, "", "id must be a string or a number")
	case len(m.Data) > 0 && !bytes.Equal(m.Data, []byte("null")) && m.Data[0] != '{':
		return bayeuxError(400, m.Channel, "data must be an object")
	}
	return ""
}

// validChannel reports whether name is an absolute channel name with
// non-empty segments of printable ASCII.
func validChannel(name string) bool {
	if len(name) < 2 || len(name) > maxChannelLen || name[0] != '/' || strings.HasSuffix(name, "/") || strings.Contains(name, "//") {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c <= ' ' || c > '~' || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// validID accepts a JSON string or number of at most maxIDLen bytes.
func validID(raw json.RawMessage) bool {
	if len(raw) > maxIDLen {
		return false
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return false
	}
	switch v.(type) {
	case string, float64:
		return true
	}
	return false
}

// subscriptions returns the channels of a subscribe or unsubscribe: one
// string or an array of strings.
func (m *Message) subscriptions() ([]string, bool) {
	if len(m.Subscription) == 0 {
		return nil, false
	}
	var one string
	if json.Unmarshal(m.Subscription, &one) == nil {
		return []string{one}, validChannel(one)
	}
	var many []string
	if json.Unmarshal(m.Subscription, &many) != nil || len(many) == 0 || len(many) > maxSubscribeCh {
		return nil, false
	}
	for _, s := range many {
		if !validChannel(s) {
			return nil, false
		}
	}
	return many, true
}

// bayeuxError formats an error string as Bayeux §3.4 does:
// code ":" args ":" message, args comma-separated and possibly empty
// ("402::Unknown client").
func bayeuxError(code int, args, msg string) string {
	return fmt.Sprintf("%d:%s:%s", code, args, msg)
}

// The errors the server answers with most often (bayeuxError's form).
const (
	errUnknownClient = "402::Unknown client"
	errNoClientID    = "401::No client ID"
	// errHandshakeRate refuses a handshake over [protection]
	// cometd-handshake-rate or cometd-clients-per-address.
	errHandshakeRate = "429::Too many handshakes from this address"
	// errReplaced answers a client replaced by a newer one following the
	// same chat's customer (push-connections-per-party).
	errReplaced = "409::Replaced by a newer client of the same customer"
)

func boolp(v bool) *bool { return &v }
func ms(v int64) *int64  { return &v }
