package cluster

// Values of session-restore-extend-by.
const (
	ExtendNone  = "none"
	ExtendAgent = "agent"
	ExtendESP   = "esp"
	ExtendBoth  = "both"
)

// ExtendBy returns the MayRestore policy of session-restore-extend-by,
// read through mode at each request (the option takes effect at once). A
// customer request (webapi) always restores: that is the web tier's
// restoration, which session-restoration-mode governs. A workflow request
// (esp) restores only when it carries InduceRestore=true and the option is
// esp or both; otherwise it is answered here, where the session is not
// found, as the reference's ESP request fails on a node that does not hold
// the session. An agent-desktop request (agent: a join or accept on the
// agent socket, or the socket that lost the node serving one of its
// sessions) restores only when induce (it carries the session's
// ChatServerWebapiToken, or the socket was in the session) and the option
// is agent or both.
func ExtendBy(mode func() string) func(api string, induce bool) bool {
	return func(api string, induce bool) bool {
		switch api {
		case "webapi":
			return true
		case "esp":
			m := mode()
			return induce && (m == ExtendESP || m == ExtendBoth)
		case "agent":
			m := mode()
			return induce && (m == ExtendAgent || m == ExtendBoth)
		}
		return false
	}
}
