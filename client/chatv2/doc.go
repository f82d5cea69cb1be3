// Package chatv2 is a Go client for the customer Chat API Version 2 that
// Confab serves (wire-compatible with the reference gateway's API of that
// name), including Confab's push extensions: the WebSocket channel, the
// long-poll refresh and idempotent sends.
//
// A Client holds the base URL and one pooled http.Client; it is safe for
// concurrent use and meant to be shared by every chat of a program (the load
// generator runs thousands through one). RequestChat starts a chat and
// returns a Chat, the handle later calls go through:
//
//	c := chatv2.New("http://127.0.0.1:8080/genesys/2/chat", chatv2.Options{})
//	chat, _, err := c.RequestChat(ctx, "customer-support", chatv2.ChatRequest{Nickname: "Ann"})
//	_, err = chat.Send(ctx, "Hello", nil)
//	resp, err := chat.Refresh(ctx, 1) // events from index 1 on
//
// Every call returns the decoded common response body. An answer that
// reports failure comes back as an *APIError: HTTP 4xx answers (validation,
// body too large) with a nil Response, and HTTP 200 answers whose statusCode
// is 1 (try again) or 2 (will not work) together with the Response, whose
// ChatEnded says whether the chat is over.
//
// Subscribe opens the WebSocket push channel from a transcript index;
// Subscription.Next yields one batch (a Response) per frame. A subscriber
// that falls too far behind receives a *ResyncError naming the index to
// catch up from (with Refresh) before subscribing again; reconnecting from
// Subscription.Position never loses or repeats an event.
//
// The package starts no goroutines of its own: a Subscription's keepalives
// are a runtime timer whose function runs (on a goroutine of its own) only
// while it sends one frame, every Options.KeepAlive while the connection is
// open; the WebSocket
// side is client/internal/wsconn (a message read straight into the
// subscription's reused buffer).
package chatv2
