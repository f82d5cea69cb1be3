// Package restore brings back, when a node starts, the sessions that were
// live when its store was last used: every interaction still open in the
// store is either restored into the engine from its intermediate transcript
// (session-restoration-mode=simple) or closed with that transcript
// (session-restoration-mode=none). An open interaction without a stored
// transcript (it ran with transcript-auto-save=0 and the node crashed) is
// closed with an empty one, so no record stays open with IsOnline=1.
//
// The engine does the normalisation (chat.Engine.Restore): parties whose
// connections were lost leave with reason 8, stale read confirmations are
// dropped, the session is marked restored. The journals (history, routing)
// learn of the restored session and routing writes its attached data again,
// so agent desktops find the interaction queued and can accept or join it.
//
// Concurrency: Run is called once, before the node serves requests; it
// restores sessions with bounded parallelism.
package restore
