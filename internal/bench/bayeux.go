package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/coder/websocket"

	"github.com/confab/confab/client/chatv2"
)

// bayeux is a minimal CometD client for the cometd scenario: handshake,
// subscribe, publish and connect over websocket or long-polling, with the
// BAYEUX_BROWSER cookie the server binds its client id to. There is no
// public Go CometD client in this repository; this one speaks only what the
// scenario needs, and decodes each delivery's data as the Chat API v2
// response it is.
type bayeux struct {
	base   string // http://host:port/genesys/cometd
	hc     *http.Client
	ws     *websocket.Conn // nil on long-polling
	cookie string          // "BAYEUX_BROWSER=..."
	id     string          // client id
	n      int

	mu      sync.Mutex // serialises websocket request/answer pairs
	pending []bayeuxMsg
}

type bayeuxMsg struct {
	Channel    string          `json:"channel"`
	ID         string          `json:"id,omitempty"`
	ClientID   string          `json:"clientId,omitempty"`
	Successful *bool           `json:"successful,omitempty"`
	Error      string          `json:"error,omitempty"`
	Data       json.RawMessage `json:"data,omitempty"`
	// outgoing only
	Version                  string   `json:"version,omitempty"`
	SupportedConnectionTypes []string `json:"supportedConnectionTypes,omitempty"`
	ConnectionType           string   `json:"connectionType,omitempty"`
	Subscription             string   `json:"subscription,omitempty"`
}

const cometdChannel = "/service/chatV2/customer-support"

// dialBayeux opens a client; ws selects the websocket transport.
func dialBayeux(ctx context.Context, base string, hc *http.Client, ws bool) (*bayeux, error) {
	b := &bayeux{base: base, hc: hc}
	if ws {
		c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http"), &websocket.DialOptions{HTTPClient: hc})
		if err != nil {
			return nil, fmt.Errorf("cometd websocket: %w", err)
		}
		c.SetReadLimit(4 << 20)
		b.ws = c
		for _, ck := range resp.Cookies() {
			if ck.Name == "BAYEUX_BROWSER" {
				b.cookie = ck.Name + "=" + ck.Value
			}
		}
	}
	types := []string{"long-polling"}
	if ws {
		types = []string{"websocket"}
	}
	out, err := b.exchange(ctx, "/handshake", bayeuxMsg{Channel: "/meta/handshake", Version: "1.0", SupportedConnectionTypes: types})
	if err != nil {
		b.close()
		return nil, err
	}
	r := replyOn(out, "/meta/handshake")
	if r == nil || r.Successful == nil || !*r.Successful {
		b.close()
		return nil, fmt.Errorf("cometd handshake refused: %+v", r)
	}
	b.id = r.ClientID
	return b, nil
}

func (b *bayeux) transport() string {
	if b.ws != nil {
		return "websocket"
	}
	return "long-polling"
}

func (b *bayeux) close() {
	if b.ws != nil {
		b.ws.CloseNow()
	}
}

// exchange sends one message and returns the answer's messages (for
// websocket: frames up to the one holding the reply to this message).
func (b *bayeux) exchange(ctx context.Context, suffix string, m bayeuxMsg) ([]bayeuxMsg, error) {
	b.n++
	m.ID = strconv.Itoa(b.n)
	m.ClientID = b.id
	body, _ := json.Marshal([]bayeuxMsg{m})
	if b.ws != nil {
		b.mu.Lock()
		defer b.mu.Unlock()
		if err := b.ws.Write(ctx, websocket.MessageText, body); err != nil {
			return nil, err
		}
		var all []bayeuxMsg
		for {
			_, raw, err := b.ws.Read(ctx)
			if err != nil {
				return all, err
			}
			var out []bayeuxMsg
			if err := json.Unmarshal(raw, &out); err != nil {
				return all, err
			}
			all = append(all, out...)
			for i := range out {
				if out[i].ID == m.ID {
					return all, nil
				}
			}
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.base+suffix, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if b.cookie != "" {
		req.Header.Set("Cookie", b.cookie)
	}
	resp, err := b.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	for _, ck := range resp.Cookies() {
		if ck.Name == "BAYEUX_BROWSER" {
			b.cookie = ck.Name + "=" + ck.Value
		}
	}
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	var out []bayeuxMsg
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("cometd answer HTTP %d: %w", resp.StatusCode, err)
	}
	return out, nil
}

func replyOn(out []bayeuxMsg, channel string) *bayeuxMsg {
	for i := range out {
		if out[i].Channel == channel && out[i].Successful != nil {
			return &out[i]
		}
	}
	return nil
}

// deliveries decodes the Chat API answers among msgs.
func deliveries(msgs []bayeuxMsg) []*chatv2.Response {
	var out []*chatv2.Response
	for i := range msgs {
		if msgs[i].Channel != cometdChannel || len(msgs[i].Data) == 0 {
			continue
		}
		var r chatv2.Response
		if json.Unmarshal(msgs[i].Data, &r) == nil {
			out = append(out, &r)
		}
	}
	return out
}

// publish sends a Chat API operation; the answer comes as a delivery.
func (b *bayeux) publish(ctx context.Context, data map[string]any) ([]bayeuxMsg, error) {
	raw, _ := json.Marshal(data)
	out, err := b.exchange(ctx, "/", bayeuxMsg{Channel: cometdChannel, Data: raw})
	if err != nil {
		return out, err
	}
	for i := range out {
		if out[i].Channel == cometdChannel && out[i].Successful != nil && !*out[i].Successful {
			return out, fmt.Errorf("cometd publish refused: %s", out[i].Error)
		}
	}
	return out, nil
}

func (b *bayeux) subscribe(ctx context.Context) error {
	out, err := b.exchange(ctx, "/subscribe", bayeuxMsg{Channel: "/meta/subscribe", Subscription: cometdChannel})
	if err != nil {
		return err
	}
	if r := replyOn(out, "/meta/subscribe"); r == nil || !*r.Successful {
		return errors.New("cometd subscribe refused")
	}
	return nil
}

// connect sends one /meta/connect and returns what its answer carried.
func (b *bayeux) connect(ctx context.Context) ([]bayeuxMsg, error) {
	out, err := b.exchange(ctx, "/connect", bayeuxMsg{Channel: "/meta/connect", ConnectionType: b.transport()})
	if err != nil {
		return out, err
	}
	if r := replyOn(out, "/meta/connect"); r == nil || !*r.Successful {
		e := "no reply"
		if r != nil {
			e = r.Error
		}
		return out, fmt.Errorf("cometd connect: %s", e)
	}
	return out, nil
}

// disconnect ends the client.
func (b *bayeux) disconnect(ctx context.Context) {
	b.exchange(ctx, "/disconnect", bayeuxMsg{Channel: "/meta/disconnect"})
	b.close()
}
