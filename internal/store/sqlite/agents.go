package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/confab/confab/internal/store"
)

// AddAgent stores a new agent; see store.Agents.
func (s *Store) AddAgent(ctx context.Context, a store.Agent) error {
	if a.ID == "" || len(a.TokenHash) == 0 {
		return fmt.Errorf("sqlite: add agent %q: %w: empty id or token hash", a.ID, store.ErrInvalid)
	}
	a, err := store.CheckAgent(a)
	if err != nil {
		return fmt.Errorf("sqlite: add %w", err)
	}
	if a.CreatedAt.IsZero() {
		a.CreatedAt = s.now()
	}
	err = s.do(ctx, "agent "+a.ID, func(ctx context.Context, w *writer) error {
		_, err := w.conn.ExecContext(ctx, `INSERT INTO agents (id, name, token_hash, user_type, queues, capacity, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, a.ID, a.Name, a.TokenHash, string(a.Type), strings.Join(a.Queues, ","), a.Capacity, micros(a.CreatedAt))
		return classify(err)
	})
	if err != nil {
		return fmt.Errorf("sqlite: add agent %s: %w", a.ID, err)
	}
	return nil
}

// UpdateAgent replaces an agent's attributes; see store.Agents.
func (s *Store) UpdateAgent(ctx context.Context, a store.Agent) error {
	a, err := store.CheckAgent(a)
	if err != nil {
		return fmt.Errorf("sqlite: update %w", err)
	}
	err = s.do(ctx, "agent "+a.ID, func(ctx context.Context, w *writer) error {
		q := `UPDATE agents SET name = ?, user_type = ?, queues = ?, capacity = ?`
		args := []any{a.Name, string(a.Type), strings.Join(a.Queues, ","), a.Capacity}
		if len(a.TokenHash) > 0 {
			q += `, token_hash = ?`
			args = append(args, a.TokenHash)
		}
		res, err := w.conn.ExecContext(ctx, q+` WHERE id = ?`, append(args, a.ID)...)
		if err != nil {
			return classify(err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err
		}
		return store.ErrNotFound
	})
	if err != nil {
		return fmt.Errorf("sqlite: update agent %s: %w", a.ID, err)
	}
	return nil
}

const agentCols = "id, name, token_hash, user_type, queues, capacity, created_at"

func scanAgent(sc scanner) (store.Agent, error) {
	var a store.Agent
	var typ, queues string
	var created int64
	if err := sc.Scan(&a.ID, &a.Name, &a.TokenHash, &typ, &queues, &a.Capacity, &created); err != nil {
		return store.Agent{}, err
	}
	a.Type = store.UserType(typ)
	if queues != "" {
		a.Queues = strings.Split(queues, ",")
	}
	a.CreatedAt = fromMicros(created)
	return a, nil
}

// GetAgent returns an agent; see store.Agents.
func (s *Store) GetAgent(ctx context.Context, id string) (store.Agent, error) {
	return s.getAgent(ctx, "id "+id, "id = ?", id)
}

// GetAgentByTokenHash returns the agent with a token hash; see
// store.Agents.
func (s *Store) GetAgentByTokenHash(ctx context.Context, hash []byte) (store.Agent, error) {
	return s.getAgent(ctx, "token hash", "token_hash = ?", hash)
}

func (s *Store) getAgent(ctx context.Context, what, where string, arg any) (store.Agent, error) {
	if err := s.readable(); err != nil {
		return store.Agent{}, err
	}
	a, err := scanAgent(s.rdb.QueryRowContext(ctx, "SELECT "+agentCols+" FROM agents WHERE "+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return store.Agent{}, fmt.Errorf("sqlite: get agent by %s: %w", what, err)
	}
	return a, nil
}

// ListAgents lists every agent by id; see store.Agents.
func (s *Store) ListAgents(ctx context.Context) ([]store.Agent, error) {
	if err := s.readable(); err != nil {
		return nil, err
	}
	rows, err := s.rdb.QueryContext(ctx, "SELECT "+agentCols+" FROM agents ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("sqlite: list agents: %w", err)
	}
	defer rows.Close()
	var out []store.Agent
	for rows.Next() {
		a, err := scanAgent(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list agents: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list agents: %w", err)
	}
	return out, nil
}

// RemoveAgent deletes an agent; see store.Agents.
func (s *Store) RemoveAgent(ctx context.Context, id string) error {
	if err := s.deleteOne(ctx, "agent", "DELETE FROM agents WHERE id = ?", id); err != nil {
		return fmt.Errorf("sqlite: remove agent %s: %w", id, err)
	}
	return nil
}

// deleteOne runs a DELETE of one row by id through the writer;
// store.ErrNotFound when there was no such row.
func (s *Store) deleteOne(ctx context.Context, what, query, id string) error {
	return s.do(ctx, what+" "+id, func(ctx context.Context, w *writer) error {
		res, err := w.conn.ExecContext(ctx, query, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err
		}
		return store.ErrNotFound
	})
}

// GetSetting returns a setting; see store.Settings.
func (s *Store) GetSetting(ctx context.Context, key string) (string, error) {
	if err := s.readable(); err != nil {
		return "", err
	}
	var v string
	err := s.rdb.QueryRowContext(ctx, "SELECT value FROM settings WHERE key = ?", key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("sqlite: get setting %s: %w", key, err)
	}
	return v, nil
}

// PutSetting stores a setting; see store.Settings.
func (s *Store) PutSetting(ctx context.Context, key, value string) error {
	if key == "" {
		return fmt.Errorf("sqlite: put setting: %w: empty key", store.ErrInvalid)
	}
	err := s.do(ctx, "setting "+key, func(ctx context.Context, w *writer) error {
		_, err := w.conn.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: put setting %s: %w", key, err)
	}
	return nil
}
