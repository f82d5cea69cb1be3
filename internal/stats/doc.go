// Package stats computes the reporting statistics the reference attaches
// to an interaction when its chat session ends (the csg_* and cse_* keys
// and the ChatServerSession* timestamps), from the closed session's own
// record: its participants, its transcript and their times. Compute is a
// pure function; it holds no state and is safe to call from any goroutine.
//
// What the transcript cannot tell is named where it matters: a session
// closed by a storage error and one closed by the workflow carry the same
// reason code (5), so csg_SessionEndedReason reports both as FORCE. Idle
// periods come from the IDLE_CONTROL_ALERT / IDLE_CONTROL_CLOSE notices
// the engine's inactivity and async idle control put in the transcript.
package stats
