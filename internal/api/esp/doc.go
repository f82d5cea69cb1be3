// Package esp serves the workflow API: the reference's External Service
// Protocol for service "Chat", carried over HTTP as POST
// /esp/Chat/{Method} with a JSON object of string parameters and the
// [esp] token as a bearer token. Reply and fault types and the fault codes
// are defined in the public package client/esp; docs/esp.md documents the
// methods.
//
// Every method finds its session by the InteractionId parameter (or, as in
// the reference, the InteractionId of a UserData parameter when there is no
// explicit one). A request is validated completely before it changes
// anything; a refused request changes nothing. Messages and notices are
// written by a workflow party: a participant of type EXTERNAL and protocol
// ESP, joined on first use of each nickname and kept until the session
// ends; it never counts as an agent.
//
// The handler holds no state of its own and is safe for concurrent use.
package esp
