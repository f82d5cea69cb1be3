package webapi

// Hooks for the external tests.

// Held reports how many push connections or long polls hold the customer
// of chatID (-1 when the customer is not watched).
func Held(a *API, chatID string) int {
	a.presence.mu.Lock()
	t := a.presence.byChat[chatID]
	a.presence.mu.Unlock()
	if t == nil {
		return -1
	}
	return int(t.holds.Load())
}

// Watching reports how many customers the inactivity timers watch.
func Watching(a *API) int { return a.presence.watching() }
