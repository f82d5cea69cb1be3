package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/confab/confab/internal/store"
)

const agentCols = "id, name, token_hash, user_type, queues, capacity, created_at"

// AddAgent stores a new agent; see store.Agents.
func (s *Store) AddAgent(ctx context.Context, a store.Agent) error {
	if a.ID == "" || len(a.TokenHash) == 0 {
		return fmt.Errorf("postgres: add agent %q: %w: empty id or token hash", a.ID, store.ErrInvalid)
	}
	a, err := store.CheckAgent(a)
	if err != nil {
		return fmt.Errorf("postgres: add %w", err)
	}
	if a.CreatedAt.IsZero() {
		a.CreatedAt = s.now()
	}
	err = s.do(ctx, "agent "+a.ID, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO agents (`+agentCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			a.ID, a.Name, a.TokenHash, string(a.Type), strings.Join(a.Queues, ","), a.Capacity, micros(a.CreatedAt))
		return classify(err)
	})
	if err != nil {
		return fmt.Errorf("postgres: add agent %s: %w", a.ID, err)
	}
	return nil
}

// UpdateAgent replaces an agent's attributes; see store.Agents.
func (s *Store) UpdateAgent(ctx context.Context, a store.Agent) error {
	a, err := store.CheckAgent(a)
	if err != nil {
		return fmt.Errorf("postgres: update %w", err)
	}
	err = s.do(ctx, "agent "+a.ID, func(ctx context.Context, tx pgx.Tx) error {
		q := `UPDATE agents SET name = $1, user_type = $2, queues = $3, capacity = $4`
		args := []any{a.Name, string(a.Type), strings.Join(a.Queues, ","), a.Capacity}
		if len(a.TokenHash) > 0 {
			q += `, token_hash = $5`
			args = append(args, a.TokenHash)
		}
		args = append(args, a.ID)
		tag, err := tx.Exec(ctx, q+fmt.Sprintf(` WHERE id = $%d`, len(args)), args...)
		if err != nil {
			return classify(err)
		}
		if tag.RowsAffected() == 1 {
			return nil
		}
		return store.ErrNotFound
	})
	if err != nil {
		return fmt.Errorf("postgres: update agent %s: %w", a.ID, err)
	}
	return nil
}

func scanAgent(row pgx.Row) (store.Agent, error) {
	var a store.Agent
	var typ, queues string
	var created int64
	if err := row.Scan(&a.ID, &a.Name, &a.TokenHash, &typ, &queues, &a.Capacity, &created); err != nil {
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
	return s.getAgent(ctx, "id "+id, "id = $1", id)
}

// GetAgentByTokenHash returns the agent with a token hash; see
// store.Agents.
func (s *Store) GetAgentByTokenHash(ctx context.Context, hash []byte) (store.Agent, error) {
	return s.getAgent(ctx, "token hash", "token_hash = $1", hash)
}

func (s *Store) getAgent(ctx context.Context, what, where string, arg any) (store.Agent, error) {
	if err := s.readable(); err != nil {
		return store.Agent{}, err
	}
	a, err := scanAgent(s.pool.QueryRow(ctx, "SELECT "+agentCols+" FROM agents WHERE "+where, arg))
	if errors.Is(err, pgx.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return store.Agent{}, fmt.Errorf("postgres: get agent by %s: %w", what, err)
	}
	return a, nil
}

// ListAgents lists every agent by id; see store.Agents.
func (s *Store) ListAgents(ctx context.Context) ([]store.Agent, error) {
	if err := s.readable(); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, "SELECT "+agentCols+" FROM agents ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("postgres: list agents: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Agent, error) { return scanAgent(row) })
	if err != nil {
		return nil, fmt.Errorf("postgres: list agents: %w", err)
	}
	return out, nil
}

// RemoveAgent deletes an agent; see store.Agents.
func (s *Store) RemoveAgent(ctx context.Context, id string) error {
	if err := s.deleteOne(ctx, "agent", "DELETE FROM agents WHERE id = $1", id); err != nil {
		return fmt.Errorf("postgres: remove agent %s: %w", id, err)
	}
	return nil
}

// deleteOne runs a DELETE of one row by id through the writer;
// store.ErrNotFound when there was no such row.
func (s *Store) deleteOne(ctx context.Context, what, query, id string) error {
	return s.do(ctx, what+" "+id, func(ctx context.Context, tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, query, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 1 {
			return nil
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
	err := s.pool.QueryRow(ctx, "SELECT value FROM settings WHERE key = $1", key).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("postgres: get setting %s: %w", key, err)
	}
	return v, nil
}

// PutSetting stores a setting; see store.Settings.
func (s *Store) PutSetting(ctx context.Context, key, value string) error {
	if key == "" {
		return fmt.Errorf("postgres: put setting: %w: empty key", store.ErrInvalid)
	}
	err := s.do(ctx, "setting "+key, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO settings (key, value) VALUES ($1, $2)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: put setting %s: %w", key, err)
	}
	return nil
}

// PutOutbox stores an outbox item; see store.Outbox.
func (s *Store) PutOutbox(ctx context.Context, it store.OutboxItem) error {
	if it.Kind == "" || it.Key == "" {
		return fmt.Errorf("postgres: put outbox item %q/%q: %w: empty kind or key", it.Kind, it.Key, store.ErrInvalid)
	}
	if it.UpdatedAt.IsZero() {
		it.UpdatedAt = s.now()
	}
	val := it.Value
	if val == nil {
		val = []byte{}
	}
	err := s.do(ctx, "outbox "+it.Kind+"/"+it.Key, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO outbox (kind, key, value, updated_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (kind, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
			it.Kind, it.Key, val, micros(it.UpdatedAt))
		return classify(err)
	})
	if err != nil {
		return fmt.Errorf("postgres: put outbox item %s/%s: %w", it.Kind, it.Key, err)
	}
	return nil
}

// DeleteOutbox removes an outbox item; see store.Outbox.
func (s *Store) DeleteOutbox(ctx context.Context, kind, key string) error {
	err := s.do(ctx, "outbox "+kind+"/"+key, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `DELETE FROM outbox WHERE kind = $1 AND key = $2`, kind, key)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: delete outbox item %s/%s: %w", kind, key, err)
	}
	return nil
}

// ListOutbox lists the outbox items of a kind; see store.Outbox.
func (s *Store) ListOutbox(ctx context.Context, kind string) ([]store.OutboxItem, error) {
	if err := s.readable(); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT key, value, updated_at FROM outbox WHERE kind = $1 ORDER BY key`, kind)
	if err != nil {
		return nil, fmt.Errorf("postgres: list outbox %s: %w", kind, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.OutboxItem, error) {
		it := store.OutboxItem{Kind: kind}
		var upd int64
		err := row.Scan(&it.Key, &it.Value, &upd)
		it.UpdatedAt = fromMicros(upd)
		return it, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: list outbox %s: %w", kind, err)
	}
	return out, nil
}
