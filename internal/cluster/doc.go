// Package cluster makes N+1 nodes on one PostgreSQL store behave as one
// chat server: every node registers in the store with a lease it renews on
// the injected clock; every live session has an owner row with an epoch;
// any node answers a request for any session.
//
// A node that does not hold a session asks the store who owns it. A live
// owner (its lease not ended) gets the request forwarded (an HTTP reverse
// proxy to the owner's listener, WebSocket upgrades included). A dead
// owner (lease ended) loses the session to this node, which claims it with
// the next epoch (a compare-and-set on the owner row) and restores it from
// the intermediate transcript as a restart does (package restore).
//
// Which requests may restore a dead owner's session is Options.MayRestore
// (ExtendBy: session-restore-extend-by): customer requests always, ESP
// requests only with InduceRestore=true when the option allows the
// workflow; a refused request is served here, where the session is not
// found.
//
// Fencing: every event write carries the writer's epoch
// (store.EventRow.Epoch) and the store refuses a stale one (ErrFenced), so a
// node that was paused past its lease and wakes up cannot add to a session
// another node restored; on the refusal it drops its copy of the session and
// forwards from then on. A session's close first releases its owner row with
// the same check.
//
// Drain and graceful stop hand sessions over eagerly: each live node, at
// its lease renewal, claims and restores its share (a hash of the session
// id over the live, not draining nodes) of the sessions a draining node
// still owns (takeover.go), off the renewal goroutine, one pass at a time.
//
// Agent sockets (agent.go): LocateAgent routes an agent's join like a
// request (a dead owner's session is restored only with the session's
// ChatServerWebapiToken, an HMAC under a key kept in the store, and
// session-restore-extend-by agent or both); Follow waits on the clock until
// a session whose node an agent socket lost has a live owner again.
//
// Clients bound to one node (handover.go): a CometD customer's Bayeux
// client lives where it handshook, so Take brings its chat there, claiming
// it from a dead or a live owner (the claim fences the old owner), and a
// live old owner is told to drop its copy (HandoverHandler). Clients that
// send their secure key alone (keys.go) are located by SessionOfKey: a new
// session's owner row keeps a hash of its creator's key.
//
// Lease renewal (cluster.go) runs on a clock timer every third of the lease,
// counted from the previous renewal's start; a renewal may take until the
// lease it extends ends. After each renewal the node reads how many claims
// have taken a session from it and, when that moved, drops the sessions
// whose owner row now has a newer epoch (claimed.go), so a node whose lease
// ended while it was alive does not keep a silent copy it never writes to.
//
// Concurrency: a Cluster is safe for concurrent use; mu guards the epochs of
// the sessions this node owns. Lease renewal runs on a clock timer.
package cluster
