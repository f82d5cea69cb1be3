package restore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/history"
	"github.com/confab/confab/internal/kv"
	"github.com/confab/confab/internal/store"
)

// Modes of session-restoration-mode.
const (
	ModeSimple = "simple"
	ModeNone   = "none"
)

// Options configure Run.
type Options struct {
	Engine *chat.Engine
	Store  store.Store
	// Mode is session-restoration-mode: simple restores, none closes.
	Mode string
	// Strip removes from a stored record's attached data the keys the
	// server adds (routing's), leaving the session's own user data.
	Strip func(kv.Map)
	// OnlineKey is the attached-data key set to "0" on a record closed
	// without a transcript (routing's IsOnline).
	OnlineKey string
	Log       *slog.Logger
	// Parallel bounds the sessions restored at once; default 16.
	Parallel int
	// Keep, when set, selects the open interactions Run takes (in a
	// cluster: those this node owned before it restarted); the others are
	// left alone.
	Keep func(store.Interaction) bool
}

// Report counts what Run did.
type Report struct {
	Restored int // sessions live again
	Closed   int // restored and closed (mode none, or nobody left)
	Empty    int // records closed because no transcript was stored
	Failed   int
}

func (r Report) String() string {
	return fmt.Sprintf("%d restored, %d closed, %d closed without a stored transcript, %d failed", r.Restored, r.Closed, r.Empty, r.Failed)
}

// Run restores or closes every open interaction of the store.
func Run(ctx context.Context, opts Options) (Report, error) {
	if opts.Parallel <= 0 {
		opts.Parallel = 16
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	var (
		mu   sync.Mutex // guards rep and errs
		rep  Report
		errs []error
	)
	sem := make(chan struct{}, opts.Parallel)
	var wg sync.WaitGroup
	after := ""
	for {
		page, err := opts.Store.ListInteractions(ctx, store.InteractionFilter{Status: store.StatusOpen, Limit: 500, AfterID: after})
		if err != nil {
			wg.Wait()
			return rep, fmt.Errorf("restore: list open interactions: %w", err)
		}
		for _, in := range page {
			if opts.Keep != nil && !opts.Keep(in) {
				continue
			}
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				outcome, err := one(ctx, opts, in)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err != nil:
					rep.Failed++
					if len(errs) < 10 {
						errs = append(errs, err)
					}
					opts.Log.Error("restore: session not restored", "session", in.ID, "err", err)
				case outcome == restoredLive:
					rep.Restored++
				case outcome == restoredClosed:
					rep.Closed++
				default:
					rep.Empty++
				}
			}()
		}
		if len(page) < 500 {
			break
		}
		after = page[len(page)-1].ID
	}
	wg.Wait()
	return rep, errors.Join(errs...)
}

// One restores a single session from the store (a node that has just
// claimed it from a dead owner); it closes it when opts.Mode is not simple.
// ErrNoTranscript-less records are closed as in Run.
func One(ctx context.Context, opts Options, sessionID string) error {
	in, err := opts.Store.GetInteraction(ctx, sessionID)
	if err != nil {
		return fmt.Errorf("restore session %s: %w", sessionID, err)
	}
	if in.Status != store.StatusOpen {
		return nil
	}
	_, err = one(ctx, opts, in)
	return err
}

type outcome int

const (
	restoredLive outcome = iota
	restoredClosed
	closedEmpty
)

func one(ctx context.Context, opts Options, in store.Interaction) (outcome, error) {
	req, err := history.Load(ctx, opts.Store, in)
	if errors.Is(err, history.ErrNoTranscript) {
		return closedEmpty, closeEmpty(ctx, opts, in)
	}
	if err != nil {
		return 0, err
	}
	if ud := attached(in.UserData); len(ud) > 0 {
		if opts.Strip != nil {
			opts.Strip(ud)
		}
		req.UserData = ud // later than the header's: updateData reached it
	}
	s, rc, err := opts.Engine.Restore(req)
	if err != nil {
		return 0, fmt.Errorf("restore session %s: %w", in.ID, err)
	}
	if opts.Mode != ModeSimple && s.State() == chat.Alive {
		rc, _, err = s.Close(chat.CloseRequest{Reason: chat.RemovedRestore})
		if err != nil {
			return 0, fmt.Errorf("close session %s (session-restoration-mode=%s): %w", in.ID, opts.Mode, err)
		}
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := rc.Wait(wctx); err != nil {
		return 0, fmt.Errorf("restore session %s: normalisation not stored: %w", in.ID, err)
	}
	if s.State() == chat.Closed {
		return restoredClosed, nil
	}
	return restoredLive, nil
}

// closeEmpty closes a record that has no stored transcript.
func closeEmpty(ctx context.Context, opts Options, in store.Interaction) error {
	ud := attached(in.UserData)
	if ud == nil {
		ud = kv.Map{}
	}
	if opts.OnlineKey != "" {
		ud[opts.OnlineKey] = "0"
	}
	data, err := json.Marshal(ud)
	if err != nil {
		return fmt.Errorf("encode attached data of %s: %w", in.ID, err)
	}
	t := history.Transcript{SessionID: in.ID, StartAt: in.CreatedAt.UTC().Format(time.RFC3339Nano),
		ClosedAt: opts.Engine.Clock().Now().UTC().Format(time.RFC3339Nano), Subject: in.Subject,
		Participants: []history.Party{}, Events: []history.Event{}}
	transcript, err := json.Marshal(t)
	if err != nil {
		return err
	}
	if err := opts.Store.CloseInteraction(ctx, in.ID, opts.Engine.Clock().Now(), store.Bytes(transcript), json.RawMessage(`{}`), data); err != nil {
		return fmt.Errorf("close interaction %s without transcript: %w", in.ID, err)
	}
	return nil
}

func attached(raw json.RawMessage) kv.Map {
	if len(raw) == 0 {
		return nil
	}
	m, err := kv.FromJSON(raw)
	if err != nil {
		return nil
	}
	return m
}
