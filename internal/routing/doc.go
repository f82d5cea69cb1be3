// Package routing turns chat sessions into interactions waiting in queues.
//
// Every session the engine creates becomes an Interaction in the queue of its
// endpoint, carrying the attached data a workflow and an agent desktop read
// (ChatServerAppName, ChatServerSessionId, IsOnline, the customer's user
// data, ContactId once the contact history identified the customer,
// GCTI_Chat_AsyncStatus for async chats, ChatServerSessionPassword when
// passwords are enforced). A Router learns about sessions by being one of
// the engine's journals (it implements chat.Journal), keeps the live
// interactions in memory, writes their state and attached data to the store
// in the background, and publishes every change on a stream that the admin
// API serves as Server-Sent Events.
//
// # States
//
// An interaction is queued (waiting for an agent), assigned (an agent
// accepted it, or an agent or supervisor that is not a bot is in the
// session), held (an async chat the workflow placed on hold and that no agent
// is in), offline (the session ended; IsOnline=0) or stopped (the session
// ended and stop-abandoned-interaction says to stop it). Accept is an atomic
// claim: of two agents accepting one queued interaction at once, exactly one
// gets it and the other gets ErrTaken.
//
// # Concurrency
//
// The engine calls the journal methods with a session lock held, so they only
// update memory, publish to the stream without blocking and mark the
// interaction for the store writer; they never call back into a session.
// Interactions live in 16 shards with a lock each. Lock order: a session
// lock, then a shard lock, then the stream's lock or the writer's lock. Code
// holding a shard lock never calls into a session. The store writer is one
// goroutine that runs only while there is something to write.
package routing
