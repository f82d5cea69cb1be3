package cometd

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"

	"github.com/confab/confab/internal/api/webapi"
)

// ChatChannelPrefix is the prefix of the Chat API v2 service channels:
// /service/chatV2/{serviceName} is both where a client publishes its
// operations and where it receives the answers and events.
const ChatChannelPrefix = "/service/chatV2/"

// chatServiceName returns the serviceName of a Chat API v2 channel.
func chatServiceName(channel string) (string, bool) {
	svc, ok := strings.CutPrefix(channel, ChatChannelPrefix)
	if !ok || svc == "" || strings.ContainsAny(svc, "/*") {
		return "", false
	}
	return svc, true
}

// restOperation maps an operation name of the CometD form to the REST one
// that webapi.Call runs.
func restOperation(name string) (string, bool) {
	switch name {
	case "requestChat", "startTyping", "stopTyping", "customNotice", "updateData", "disconnect",
		"refresh", "updateNickname", "pushUrl", "readReceipt", "send":
		return name, true
	case "sendMessage":
		return "send", true
	case "requestNotifications":
		return "refresh", true
	}
	return "", false
}

// chatService runs the Chat API v2 over Bayeux.
type chatService struct {
	srv *Server
	api *webapi.API

	mu     sync.Mutex                     // guards the following
	follow map[binding][]*Client          // clients whose feed follows a customer, oldest first
	byChat map[string]map[string]struct{} // chat id -> user ids of follow (cluster.go's Moved)
}

// followed records that c's feed now follows b and returns the clients it
// replaces: the oldest past push-connections-per-party.
func (cs *chatService) followed(b binding, c *Client) []*Client {
	max := 0
	if cs.api != nil {
		max = cs.api.PushPerParty()
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	list := append(cs.follow[b], c)
	var old []*Client
	if n := len(list) - max; max > 0 && n > 0 {
		old = append(old, list[:n]...)
		list = append([]*Client(nil), list[n:]...)
	}
	cs.follow[b] = list
	if cs.byChat[b.chatID] == nil {
		cs.byChat[b.chatID] = map[string]struct{}{}
	}
	cs.byChat[b.chatID][b.userID] = struct{}{}
	return old
}

// unfollowed forgets that c's feed follows b.
func (cs *chatService) unfollowed(b binding, c *Client) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	list := cs.follow[b]
	for i, x := range list {
		if x == c {
			list = append(list[:i:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(cs.follow, b)
		if u := cs.byChat[b.chatID]; u != nil {
			delete(u, b.userID)
			if len(u) == 0 {
				delete(cs.byChat, b.chatID)
			}
		}
	} else {
		cs.follow[b] = list
	}
}

// binding is the chat a client's feed follows.
type binding struct{ chatID, userID string }

// publish runs one operation published by c on channel and delivers the
// answer (the REST body) on the same channel. It returns a Bayeux error
// for data that is not a Chat API v2 request; an operation the Chat API
// refuses is still a delivered answer (with its errors), as over REST.
func (cs *chatService) publish(ctx context.Context, c *Client, channel, service string, data json.RawMessage) string {
	call, e := decodeCall(data)
	if e != "" {
		return bayeuxError(400, channel, e)
	}
	call.Service = service
	if call.Operation == "requestChat" && cs.srv.isDraining() {
		c.Deliver(channel, drainingBody)
		return ""
	}
	if call.Operation != "requestChat" {
		// In a cluster the chat is served where the client lives (cluster.go).
		key := fieldOf(call.Fields, "secureKey")
		byKey := call.ChatID == "" && key != ""
		if byKey {
			if e := cs.chatOfKey(ctx, c, channel, &call, key); e != "" {
				return ""
			}
		}
		if e := cs.locate(ctx, c, channel, call.ChatID, key); e == "-" {
			return ""
		} else if e != "" {
			return e
		}
		if byKey && call.ChatID != "" {
			cs.api.AdoptKey(key, call.ChatID) // the key finds it here from now on
		}
	}

	c.op.Lock()
	defer c.op.Unlock()
	res := cs.api.Call(ctx, call)
	c.Deliver(channel, res.Body)
	if res.ChatID == "" || res.UserID == "" {
		return ""
	}
	if res.HTTPStatus == 200 && !res.Ended && call.ChatID != "" {
		// The key index learns the key of the chat this answer
		// authenticated (a no-op when it knows it): file operations and
		// key-only publishes find the chat by it.
		cs.api.RememberKey(res.SecureKey, res.ChatID, res.UserID)
	}
	// Follow the chat: a new feed starts after what the answer carried (or
	// at the end, for answers that carry none); an existing one skips what
	// the answer delivered, when the answer began where the feed stands.
	src, owner := c.Source()
	b, _ := owner.(binding)
	f, _ := src.(*chatFeed)
	if f != nil && b.chatID == res.ChatID && b.userID == res.UserID {
		if res.Events > 0 && res.From <= f.feed.Next() {
			f.feed.Skip(res.Next)
		}
		return ""
	}
	if res.Next == 0 {
		return ""
	}
	feed, err := cs.api.NewFeed(res.ChatID, res.UserID, res.Next)
	if err != nil {
		return ""
	}
	// Recorded before SetSource, which closes the feed (and so forgets c)
	// at once when c is already gone.
	b = binding{res.ChatID, res.UserID}
	replaced := cs.followed(b, c)
	c.SetSource(b, &chatFeed{feed: feed, channel: channel, cs: cs, c: c, b: b})
	for _, old := range replaced {
		// Not under c.op: the replaced client's removal takes its own.
		go old.replace()
	}
	return ""
}

// decodeCall turns the data of a publish into a call: operation names the
// operation, chatId the chat, and every other member is a field (strings
// as they are, numbers and booleans as written, userData and
// eventAttributes objects as their JSON).
func decodeCall(data json.RawMessage) (webapi.Call, string) {
	var members map[string]json.RawMessage
	if len(data) == 0 || json.Unmarshal(data, &members) != nil || members == nil {
		return webapi.Call{}, "data must be a Chat API v2 request object"
	}
	var opName string
	if json.Unmarshal(members["operation"], &opName) != nil || opName == "" {
		return webapi.Call{}, "data.operation is missing"
	}
	rest, ok := restOperation(opName)
	if !ok {
		return webapi.Call{}, "unknown operation " + clipName(opName)
	}
	call := webapi.Call{Operation: rest}
	for name, raw := range members {
		if name == "operation" {
			continue
		}
		v, ok := fieldValue(raw)
		if !ok {
			return webapi.Call{}, "data." + clipName(name) + " must be a string, number, boolean or object"
		}
		switch {
		case name == "chatId":
			call.ChatID = v
			continue
		case v == "":
			continue // the widget sends empty session fields before the chat exists
		case opName == "requestNotifications" && name == "transcriptPosition" && v == "0":
			continue // 0 means everything here, as an absent field does for refresh
		}
		call.Fields = append(call.Fields, webapi.Field{Name: name, Value: v})
	}
	return call, ""
}

// fieldValue is the form value of one JSON member ("" for null).
func fieldValue(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "", true
	}
	switch raw[0] {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return "", false
		}
		return s, true
	case '{':
		return string(raw), true
	case 'n':
		return "", string(raw) == "null"
	case 't', 'f':
		return string(raw), string(raw) == "true" || string(raw) == "false"
	case '[':
		return "", false
	}
	var n json.Number
	if json.Unmarshal(raw, &n) != nil {
		return "", false
	}
	return n.String(), true
}

func clipName(s string) string {
	if len(s) > 40 {
		s = s[:40]
	}
	return strings.ToValidUTF8(s, "?")
}

// chatFeed is a client's source: the batches of new events of its chat,
// each delivered as the REST body on the service channel.
type chatFeed struct {
	feed    *webapi.Feed
	channel string
	cs      *chatService // the service whose follow table lists c
	c       *Client
	b       binding
}

func (f *chatFeed) Changed() <-chan struct{} { return f.feed.Changed() }

func (f *chatFeed) Drain(dst []Message) ([]Message, bool, bool) {
	for range 8 { // a bounded number of batches per drain
		b, ended, behind := f.feed.Read()
		if b == nil {
			return dst, false, false
		}
		dst = append(dst, Message{Channel: f.channel, Data: b})
		if behind {
			return dst, true, true
		}
		if ended {
			return dst, false, true
		}
	}
	return dst, false, false
}

func (f *chatFeed) Close() {
	f.feed.Close()
	f.cs.unfollowed(f.b, f.c)
}
