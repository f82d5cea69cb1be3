package webapi

// Hooks for the external tests.

// Held reports how many push connections or long polls hold the customer
// of chatID (-1 when the customer is not watched).
func Held(a *API, chatID string) int { return a.presence.holds(chatID) }

// Watching reports how many customers the inactivity timers watch.
func Watching(a *API) int { return a.presence.watching() }

// BeforePushRegister sets a hook run between a push socket's registration
// and its check that the engine still holds the chat.
func BeforePushRegister(a *API, f func()) { a.beforePushCheck = f }

// PushHeard returns when each open push socket's reader last counted a
// keepalive (Unix ns on the API's clock, 0: never).
func PushHeard(a *API) []int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []int64
	for r := range a.pushRuns {
		out = append(out, r.heard.Load())
	}
	return out
}
