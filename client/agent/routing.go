package agent

import "context"

// SetState sets this agent's routing state: StateReady, StateNotReady
// (with an optional reason code) or StateAfterCallWork. Only a ready agent
// with free capacity receives offer frames.
func (c *Client) SetState(ctx context.Context, state, reason string) error {
	_, err := c.Do(ctx, Request{Op: OpState, State: state, Reason: reason})
	return err
}

// Reject declines an open offer (an offer frame's InteractionID). Without
// an open offer the error has Code CodeNoOffer, after it expired
// CodeExpired.
func (c *Client) Reject(ctx context.Context, interactionID string) error {
	_, err := c.Do(ctx, Request{Op: OpReject, InteractionID: interactionID})
	return err
}

// Transfer hands a chat this agent is in to another agent (to is its id)
// or to a queue (QueuePrefix + name). The outcome arrives later as a
// transfer frame.
func (c *Client) Transfer(ctx context.Context, sessionID, to string) error {
	_, err := c.Do(ctx, Request{Op: OpTransfer, SessionID: sessionID, To: to})
	return err
}

// Invite asks another agent or a queue to join the chat: visibility ALL
// for a conference, INT for a consultation the customer does not see. The
// outcome arrives later as an invite frame.
func (c *Client) Invite(ctx context.Context, sessionID, to, visibility string) error {
	_, err := c.Do(ctx, Request{Op: OpInvite, SessionID: sessionID, To: to, Visibility: visibility})
	return err
}

// Monitor joins a session of one of the supervisor's queues silently
// (VIP); the session's transcript is marked monitored.
func (c *Client) Monitor(ctx context.Context, sessionID string) (Joined, error) {
	f, err := c.Do(ctx, Request{Op: OpMonitor, SessionID: sessionID})
	return Joined{SessionID: f.SessionID, UserID: f.UserID}, err
}

// Coach joins a session of one of the supervisor's queues as a coach
// (INT): agents see it, the customer does not.
func (c *Client) Coach(ctx context.Context, sessionID string) (Joined, error) {
	f, err := c.Do(ctx, Request{Op: OpCoach, SessionID: sessionID})
	return Joined{SessionID: f.SessionID, UserID: f.UserID}, err
}

// BargeIn makes the supervisor's party (monitoring or coaching) visible
// to everybody, the customer included, from now on.
func (c *Client) BargeIn(ctx context.Context, sessionID string) (Ack, error) {
	return ack(c.Do(ctx, Request{Op: OpBargeIn, SessionID: sessionID}))
}

// Hold places an async chat on hold in this agent's workbin (workbin "")
// or a queue's (QueuePrefix + name) and leaves it; the customer's next
// message offers it to this agent first.
func (c *Client) Hold(ctx context.Context, sessionID, workbin string) (Interaction, error) {
	f, err := c.Do(ctx, Request{Op: OpHold, SessionID: sessionID, Workbin: workbin})
	if f.Interaction == nil {
		return Interaction{}, err
	}
	return *f.Interaction, err
}

// Workbin lists a workbin: this agent's own ("") or a queue's.
func (c *Client) Workbin(ctx context.Context, workbin string) ([]Interaction, error) {
	f, err := c.Do(ctx, Request{Op: OpWorkbin, Workbin: workbin})
	return f.Interactions, err
}

// HistoryPage is one page of a contact's earlier interactions.
type HistoryPage struct {
	ContactID string
	Entries   []HistoryEntry
	// NextAfter is the after of the next page, "" on the last page.
	NextAfter string
}

// History returns the earlier interactions of the contact of a session
// this agent has a part in, oldest first, at most limit (0: 20), after the
// interaction with id after ("" from the start).
func (c *Client) History(ctx context.Context, sessionID string, limit int, after string) (HistoryPage, error) {
	f, err := c.Do(ctx, Request{Op: OpHistory, SessionID: sessionID, Limit: limit, After: after})
	return HistoryPage{ContactID: f.ContactID, Entries: f.History, NextAfter: f.NextAfter}, err
}
