package webapi

import "github.com/confab/confab/internal/chat"

// The hooks the push notifications (internal/push) take from the customer
// API: the event's wire form, whether a customer is connected, the alias.

// EncodeEvent appends the Chat API v2 JSON of ev as a customer sees it in
// messages; ok is false for events without a customer form.
func (a *API) EncodeEvent(dst []byte, ev *chat.Event) ([]byte, bool) {
	typ := wireType(ev)
	if typ == "" {
		return dst, false
	}
	return appendEvent(dst, ev, typ), true
}

// Connected reports whether the customer of a chat holds a live push
// connection (a WebSocket or a waiting long poll) that delivers its events.
func (a *API) Connected(chatID string) bool {
	return a.presence.holds(chatID) > 0 // takes the session's lock: never call it under one
}

// Alias returns the alias answers carry (the app-dbid of push
// notifications).
func (a *API) Alias() string { return a.alias }
