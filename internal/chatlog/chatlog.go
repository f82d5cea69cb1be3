// Package chatlog is the engine's message log: a chat.Journal that writes
// every session creation, data change, transcript event and close to the
// log at debug level, with message texts and user data passed through a
// logattr.Filter (message-log-print-size, hide-attached-data,
// [log-filter-data]). It is the reference's message log; nothing it writes
// is needed for durability.
//
// Concurrency: the engine calls it with a session lock held; it only
// formats when debug logging is on, and never blocks on anything but the
// log handler.
package chatlog

import (
	"context"
	"log/slog"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/logattr"
)

// Journal logs session events.
type Journal struct {
	log    *slog.Logger
	filter *logattr.Filter
}

// New returns a Journal writing to log through filter.
func New(log *slog.Logger, filter *logattr.Filter) *Journal {
	return &Journal{log: log, filter: filter}
}

func (j *Journal) on() bool { return j.log.Enabled(context.Background(), slog.LevelDebug) }

// SessionCreated logs the new session and its user data.
func (j *Journal) SessionCreated(info *chat.Info) chat.Waiter {
	if j.on() {
		j.log.LogAttrs(context.Background(), slog.LevelDebug, "chat: session created",
			slog.String("session", info.ID), slog.String("endpoint", info.Tenant+":"+info.Endpoint),
			j.filter.Text("subject", info.Subject), j.filter.Data("userData", info.UserData))
	}
	return nil
}

// SessionUpdated logs a change of the session's user data.
func (j *Journal) SessionUpdated(info *chat.Info) chat.Waiter {
	if j.on() {
		j.log.LogAttrs(context.Background(), slog.LevelDebug, "chat: user data updated",
			slog.String("session", info.ID), j.filter.Data("userData", info.UserData))
	}
	return nil
}

// EventAppended logs one transcript event, as the stored transcript keeps
// it (masked where apply-area masks the intermediate transcript).
func (j *Journal) EventAppended(sessionID string, ev *chat.Event) chat.Waiter {
	if !j.on() {
		return nil
	}
	ev = ev.ForStore(false)
	attrs := []slog.Attr{
		slog.String("session", sessionID), slog.Int("pos", ev.Pos), slog.String("kind", ev.Kind.String()),
		slog.String("from", ev.From.UserID), slog.String("userType", ev.From.Type.String()),
		slog.String("visibility", ev.Visibility.String()),
	}
	if ev.Kind == chat.Notice {
		attrs = append(attrs, slog.String("notice", ev.Notice.String()))
	}
	if ev.Text != "" {
		attrs = append(attrs, j.filter.Text("text", ev.Text))
	}
	if len(ev.UserData) > 0 {
		attrs = append(attrs, j.filter.Data("userData", ev.UserData))
	}
	if len(ev.Attrs) > 0 {
		attrs = append(attrs, j.filter.Data("eventAttributes", ev.Attrs))
	}
	j.log.LogAttrs(context.Background(), slog.LevelDebug, "chat: event", attrs...)
	return nil
}

// SessionClosed logs the close.
func (j *Journal) SessionClosed(f *chat.Final) chat.Waiter {
	if j.on() {
		j.log.LogAttrs(context.Background(), slog.LevelDebug, "chat: session closed",
			slog.String("session", f.ID), slog.Int("events", len(f.Events)), j.filter.Data("userData", f.UserData))
	}
	return nil
}

var _ chat.Journal = (*Journal)(nil)
