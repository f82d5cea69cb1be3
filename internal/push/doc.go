// Package push sends push notifications to customers who are not
// connected: an HTTP POST to the configured custom-HTTP URL ([push]
// customhttp.url, the gateway's option name) for every transcript event the
// customer may see, the way the reference chat server and its web gateway
// do it for Chat API v2 ("Push notifications via GMS to HTTP server").
//
// A customer subscribes through the user data of Request Chat
// (GCTI_Chat_PushSubscribe=true with GCTI_GMS_PushDeviceId, honoured when
// flex-push-on-join is true) or later through an Update Data that brings new
// subscription keys. The other keys
// choose the content: GCTI_GMS_PushIncludePayload adds the event,
// GCTI_GMS_NotifyRequestor includes the customer's own events, and
// GCTI_GMS_PushResend asks for reliable delivery: a payload-free PushUrl
// trigger (participantId 0, notify-attempt, notify-position) that is sent
// again every flex-push-resend-delay, at most flex-push-resend-attempts
// times, until the customer refreshes. INT and VIP events are never pushed.
//
// # Shape
//
// Service is a chat.Journal: the engine tells it of every event, under the
// session's lock, and it only copies what it needs into a bounded queue
// per destination URL and returns — no I/O and no waiting on the message
// path. One sender goroutine per destination posts the notifications in
// order (as the gateway does) and retries a failed POST with exponential
// backoff on the injected clock ([push] delivery-attempts,
// delivery-backoff, delivery-timeout). A full queue drops the notification
// and counts it. The pending reliable notifications are written to the
// store's outbox by a persister goroutine (coalesced per session), so a
// restarted node loads them (Load) and keeps resending.
//
// In a cluster (Options.Owner) only a session's owner resends or loads its
// pending notification; Forget and Adopt move it with the session
// (handover.go), so a move between nodes neither repeats nor loses an
// attempt.
//
// Ping sends one trigger to a subscribed customer; the session-timers work
// (flex-push-timeout) calls it through a one-method interface.
//
// # Concurrency
//
// A Service is safe for concurrent use. mu guards the subscriptions and
// the resend timers; it is never held during I/O, and never while calling
// the Connected hook. The sender and persister goroutines end in Close.
package push
