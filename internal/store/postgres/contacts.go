package postgres

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/confab/confab/internal/store"
)

// querier is what reads need from a pool and a transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// IdentifyContact finds or creates the contact of a chat; see
// store.Contacts. Nodes of a cluster create one contact per customer: the
// look-up and the creation run under a transaction-scoped advisory lock on
// the identifying value.
func (s *Store) IdentifyContact(ctx context.Context, attrs map[string]string, keys []string, create bool) (string, bool, error) {
	key, norm, ok := store.IdentifyingKey(attrs, keys)
	if !ok {
		return "", false, nil
	}
	if err := s.readable(); err != nil {
		return "", false, err
	}
	id, err := findContact(ctx, s.pool, key, norm)
	if err == nil || !errors.Is(err, store.ErrNotFound) {
		return id, false, err
	}
	if !create {
		return "", false, nil
	}
	newID := store.NewID(s.now())
	created := false
	createdAt := micros(s.now())
	err = s.do(ctx, "new contact by "+key, func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, key+"="+norm); err != nil {
			return err
		}
		found, err := findContact(ctx, tx, key, norm)
		if err == nil {
			id = found
			return nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if _, err := tx.Exec(ctx, "INSERT INTO contacts (id, created_at) VALUES ($1, $2)", newID, createdAt); err != nil {
			return err
		}
		for _, name := range slices.Sorted(maps.Keys(attrs)) {
			v := strings.TrimSpace(attrs[name])
			if v == "" {
				continue
			}
			if _, err := tx.Exec(ctx,
				"INSERT INTO contact_attributes (contact_id, name, value, norm) VALUES ($1, $2, $3, $4)",
				newID, name, v, store.NormalizeAttribute(name, v)); err != nil {
				return err
			}
		}
		id, created = newID, true
		return nil
	})
	if err != nil {
		return "", false, fmt.Errorf("postgres: identify contact by %s: %w", key, err)
	}
	return id, created, nil
}

func findContact(ctx context.Context, q querier, key, norm string) (string, error) {
	var id string
	err := q.QueryRow(ctx, `SELECT c.id FROM contact_attributes a JOIN contacts c ON c.id = a.contact_id
		WHERE a.name = $1 AND a.norm = $2 ORDER BY c.created_at, c.id LIMIT 1`, key, norm).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", store.ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("postgres: find contact by %s: %w", key, err)
	}
	return id, nil
}

// GetContact returns a contact; see store.Contacts.
func (s *Store) GetContact(ctx context.Context, id string) (store.Contact, error) {
	if err := s.readable(); err != nil {
		return store.Contact{}, err
	}
	c := store.Contact{ID: id, Attributes: make(map[string]string)}
	var created int64
	err := s.pool.QueryRow(ctx, "SELECT created_at FROM contacts WHERE id = $1", id).Scan(&created)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Contact{}, fmt.Errorf("postgres: get contact %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.Contact{}, fmt.Errorf("postgres: get contact %s: %w", id, err)
	}
	c.CreatedAt = fromMicros(created)
	rows, err := s.pool.Query(ctx, "SELECT name, value FROM contact_attributes WHERE contact_id = $1", id)
	if err != nil {
		return store.Contact{}, fmt.Errorf("postgres: get contact %s: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var name, value string
		if err := rows.Scan(&name, &value); err != nil {
			return store.Contact{}, fmt.Errorf("postgres: get contact %s: %w", id, err)
		}
		c.Attributes[name] = value
	}
	if err := rows.Err(); err != nil {
		return store.Contact{}, fmt.Errorf("postgres: get contact %s: %w", id, err)
	}
	return c, nil
}
