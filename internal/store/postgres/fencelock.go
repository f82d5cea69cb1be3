package postgres

// The owner fence takes one lock per batch, not one per session.
//
// A write carrying an owner epoch must not land after a claim has ended
// that epoch: a claim waits for the writes of the epoch it ends that are
// in flight, and a write that starts after the claim sees the new epoch
// and is fenced. Each fenced write used to hold its session's owner row
// FOR SHARE until its batch committed (a tuple lock: the row rewritten,
// WAL, and a MultiXact whenever the two batches in flight shared a
// session), once per session per batch. Now a batch takes, before its
// first write, one transaction-scoped advisory lock in shared mode per
// node owning one of its fenced sessions (normally one: the node's own),
// keyed by the node id (lockOwners); a claim takes the old owner's lock
// in exclusive mode before it changes the row (claimLock). Every later
// statement of the batch takes a new snapshot (READ COMMITTED), so it
// either runs before the claim (which waits for the batch's commit) or
// sees the claim's epoch. The epochs are still checked in each write's
// own statement, with a plain read of the owner row.
//
// The order is the same everywhere — the advisory locks first, then rows
// — and a batch takes no advisory lock after its first statement, so a
// batch never holds a row a claim needs while waiting for the claim. A
// claim now waits for every batch of the old owner in flight (at most two
// on that node), not only for those holding its session, and the old
// owner's next batches wait for the claim (the lock's queue is fair); a
// claim is one UPDATE, so that is one commit's time.
//
// Nodes of a build from before this change fence with the row lock alone:
// a claim by such a node does not wait for a batch of a newer node. In a
// rolling upgrade, drain the nodes of the older build first (a newer node's
// claim of an older node's session still waits for its row locks, as its
// UPDATE does).

// The fence's advisory locks have two keys: 1181639525 (0x466e6365,
// "Fnce") and hashtext of the owner's node id. Two ids with one hash only
// share a lock (a claim waits for both nodes' batches).

// lockOwners takes the fence lock of every node owning one of the sessions
// in $1, and of the nodes in $2 (those of the sessions the writer trusts:
// fencetrust.go), shared, until the transaction ends.
const lockOwners = `SELECT count(pg_advisory_xact_lock_shared(1181639525, hashtext(node_id)))
	FROM (SELECT unnest($2::text[]) AS node_id
		UNION SELECT node_id FROM session_owners WHERE session_id = ANY($1::text[])) AS n`

// countClaim counts a claim of a session from node $1 (fencetrust.go), in
// the claim's transaction, after its fence lock.
const countClaim = `INSERT INTO fence_claims (node_id, claims) VALUES ($1, 1)
	ON CONFLICT (node_id) DO UPDATE SET claims = fence_claims.claims + 1`

// claimLock takes node $1's fence lock exclusively until the transaction
// ends: it waits for the node's batches in flight.
const claimLock = `SELECT pg_advisory_xact_lock(1181639525, hashtext($1))`

// fencedSessions returns the distinct sessions the writes of batch are
// fenced on (those carrying an epoch), nil if none.
func fencedSessions(batch []op) []string {
	var ids []string
	var seen map[string]bool
	add := func(id string) {
		if seen == nil {
			seen = make(map[string]bool)
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	for i := range batch {
		o := &batch[i]
		switch {
		case o.route != nil:
			if o.route.Epoch != 0 {
				add(o.route.ID)
			}
		case o.st != nil:
			if o.st.fence != "" {
				add(o.st.fence)
			}
		case o.fn != nil:
		default:
			if o.ev.Epoch != 0 {
				add(o.ev.SessionID)
			}
		}
	}
	return ids
}

// fenceOf is a stmt's fence: the session when the write carries an epoch.
func fenceOf(sessionID string, epoch int64) string {
	if epoch == 0 {
		return ""
	}
	return sessionID
}
