package chatv2

import (
	"fmt"
	"strings"
)

// Response is the common response body of every Chat API v2 answer and of
// every push frame.
type Response struct {
	// StatusCode is 0 when the call worked, 1 for a failure worth retrying,
	// 2 for one that will not work on retry.
	StatusCode int    `json:"statusCode"`
	Alias      string `json:"alias,omitempty"`
	UserID     string `json:"userId,omitempty"`
	SecureKey  string `json:"secureKey,omitempty"`
	ChatID     string `json:"chatId,omitempty"`
	// ChatEnded is true once the chat is over for this customer.
	ChatEnded bool `json:"chatEnded"`
	// NextPosition is the index to ask for next.
	NextPosition int       `json:"nextPosition,omitempty"`
	Messages     []Message `json:"messages"`
	Errors       []Problem `json:"errors,omitempty"`
	// UserData is set on file answers.
	UserData map[string]any `json:"userData,omitempty"`
	// ResyncFrom is set on the last frame a push subscriber that fell behind
	// receives: the index to catch up from.
	ResyncFrom int `json:"resyncFrom,omitempty"`
}

// Message is one transcript event.
type Message struct {
	From Party `json:"from"`
	// Index is the event's 1-based position in the transcript: increasing,
	// never reused (it may skip events the customer does not see).
	Index int `json:"index"`
	// Type is one of the Type* constants.
	Type    string `json:"type"`
	Text    string `json:"text,omitempty"`
	UTCTime int64  `json:"utcTime"` // milliseconds since the Unix epoch
	// UserData carries event data as strings (file details, idle timer,
	// read confirmations, file limits).
	UserData        map[string]any `json:"userData,omitempty"`
	EventAttributes map[string]any `json:"eventAttributes,omitempty"`
}

// Party is the party that caused an event.
type Party struct {
	Nickname      string `json:"nickname"`
	ParticipantID int    `json:"participantId"`
	// Type is Client, Agent, Supervisor or External (the server itself).
	Type string `json:"type"`
}

// Event types.
const (
	TypeParticipantJoined = "ParticipantJoined"
	TypeParticipantLeft   = "ParticipantLeft"
	TypeMessage           = "Message"
	TypeTypingStarted     = "TypingStarted"
	TypeTypingStopped     = "TypingStopped"
	TypePushURL           = "PushUrl"
	TypeNotice            = "Notice"
	TypeCustomNotice      = "CustomNotice"
	TypeNicknameUpdated   = "NicknameUpdated"
	TypeIdleAlert         = "IdleAlert"
	TypeIdleClose         = "IdleClose"
	TypeFileUploaded      = "FileUploaded"
	TypeFileDeleted       = "FileDeleted"
)

// Problem is one item of an answer's errors array.
type Problem struct {
	Code   int    `json:"code"`
	Advice string `json:"advice"`
}

// APIError is an answer that reports failure: an HTTP 4xx with an errors
// array (HTTPStatus ≥ 400, StatusCode 0), or an HTTP 200 whose statusCode is
// 1 or 2.
type APIError struct {
	HTTPStatus int
	StatusCode int
	ChatEnded  bool
	Problems   []Problem
}

func (e *APIError) Error() string {
	var b strings.Builder
	if e.HTTPStatus != 200 {
		fmt.Fprintf(&b, "chatv2: HTTP %d", e.HTTPStatus)
	} else {
		fmt.Fprintf(&b, "chatv2: statusCode %d", e.StatusCode)
	}
	for i, p := range e.Problems {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%d %s", p.Code, p.Advice)
	}
	return b.String()
}

// Has reports whether the answer listed the error code.
func (e *APIError) Has(code int) bool {
	for _, p := range e.Problems {
		if p.Code == code {
			return true
		}
	}
	return false
}

// Temporary reports whether retrying may succeed (statusCode 1, or the
// server shedding load).
func (e *APIError) Temporary() bool {
	return e.StatusCode == 1 || e.HTTPStatus == 503
}

// ResyncError is returned by Subscription.Next when the server found the
// subscriber too far behind: fetch the events from index From with Refresh,
// then subscribe again from the refreshed NextPosition.
type ResyncError struct{ From int }

func (e *ResyncError) Error() string {
	return fmt.Sprintf("chatv2: push subscriber fell behind; resync from index %d", e.From)
}

// ClosedError is returned by Subscription.Next when the server closed the
// channel without ending the chat (for example when it shuts down, code
// 1001, or when the chat moved to another node of the cluster, code 4010,
// CloseMoved). Subscribe again from Resume to continue; with Options.Nodes,
// through whichever node answers.
type ClosedError struct {
	// Code is the WebSocket close code.
	Code   int
	Reason string
	Resume int
}

// CloseMoved is the close code of a push channel whose chat another node
// of the cluster took over: subscribe again from ClosedError.Resume.
const CloseMoved = 4010

func (e *ClosedError) Error() string {
	return fmt.Sprintf("chatv2: push channel closed (%d %s); resume from index %d", e.Code, e.Reason, e.Resume)
}
