package agent

import (
	"fmt"
	"strconv"

	"github.com/coder/websocket"
)

// SendAsync appends a message to a session like Send, without waiting for
// the answer: done is called once with it, on the client's reading
// goroutine (on the caller's when the request cannot be sent at all). It
// is for a program that keeps many sends in flight on one connection (a
// load generator): no goroutine waits per send, and the requests queued
// while the connection's previous write was in progress go out together
// in one write.
//
// done must return quickly and must not wait for anything the reading
// goroutine does (the answer to another request of this client, Frames);
// it may call SendAsync again. Unlike Send, a request is not sent again
// after a failover (Options.Nodes): done gets an error wrapping ErrClosed
// when the connection ends before the answer, and an *Error when the
// server refused the request.
func (c *Client) SendAsync(sessionID string, m Message, done func(Ack, error)) {
	req := Request{Op: OpSend, SessionID: sessionID, Text: m.Text, MsgType: m.MsgType,
		TreatAs: m.TreatAs, Visibility: m.Visibility, ReceiverID: m.ReceiverID, EventAttributes: m.EventAttributes}
	cl := &call{req: req, async: func(f *Frame, err error) {
		if err != nil {
			done(Ack{}, err)
			return
		}
		if f.Type == FrameError {
			done(Ack{}, &Error{Code: f.Code, Name: f.Error, Message: f.Message, Field: f.Field})
			return
		}
		done(ack(*f, nil))
	}}
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		done(Ack{}, fmt.Errorf("%w: %v", ErrClosed, err))
		return
	}
	if c.heldLocked(req) {
		c.mu.Unlock()
		done(Ack{}, errRejoining)
		return
	}
	c.nextID++
	req.ID = "c" + strconv.Itoa(c.nextID)
	cl.req.ID = req.ID
	data, err := encodeRequest(&req)
	if err != nil {
		c.mu.Unlock()
		done(Ack{}, fmt.Errorf("agent: encode %s: %w", req.Op, err))
		return
	}
	cl.data = data
	c.pending[req.ID] = cl
	ws := c.ws
	c.mu.Unlock()
	if err := ws.Queue(websocket.MessageText, data); err != nil {
		c.mu.Lock()
		mine := c.pending[req.ID] == cl
		if mine {
			delete(c.pending, req.ID)
		}
		c.mu.Unlock()
		if mine { // else the connection's end told done already
			done(Ack{}, fmt.Errorf("%w: send %s: %v", errLost, req.Op, err))
		}
	}
}
