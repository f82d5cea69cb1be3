// Package responses serves the standard responses (canned replies) on the
// agent listener at /agent/v1/responses: every agent lists and searches
// them to insert one into a chat; supervisors (and the operator, with the
// [admin] token) create, change and delete them. A response is a plain-text
// part and, optionally, the eventAttributes of a structured message whose
// fallback that text is; both are checked as the agent protocol checks a
// send (internal/validate, internal/richmsg), so a stored response can
// always be sent. See docs/agent-protocol.md, "Standard responses".
//
// # Concurrency
//
// A Handler holds no mutable state of its own: every request reads or
// writes the store, which is safe for concurrent use. Two supervisors
// changing the same response at once both succeed, the later write wins.
package responses
