package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/confab/confab/internal/store"
)

// querier is what reads need from *sql.DB and *sql.Conn.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// IdentifyContact finds or creates the contact of a chat; see
// store.Contacts.
func (s *Store) IdentifyContact(ctx context.Context, attrs map[string]string, keys []string, create bool) (string, bool, error) {
	key, norm, ok := store.IdentifyingKey(attrs, keys)
	if !ok {
		return "", false, nil
	}
	if err := s.readable(); err != nil {
		return "", false, err
	}
	// Most chats come from known contacts: look up on the read pool first.
	id, err := findContact(ctx, s.rdb, key, norm)
	if err == nil || !errors.Is(err, store.ErrNotFound) {
		return id, false, err
	}
	if !create {
		return "", false, nil
	}
	// Look again and create in the writer's transaction, where no other
	// write can slip in between: one contact per customer.
	newID := store.NewID(s.now())
	created := false
	createdAt := micros(s.now())
	err = s.do(ctx, "new contact by "+key, func(ctx context.Context, w *writer) error {
		found, err := findContact(ctx, w.conn, key, norm)
		if err == nil {
			id = found
			return nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if _, err := w.conn.ExecContext(ctx, "INSERT INTO contacts (id, created_at) VALUES (?, ?)", newID, createdAt); err != nil {
			return err
		}
		for _, name := range slices.Sorted(maps.Keys(attrs)) {
			v := strings.TrimSpace(attrs[name])
			if v == "" {
				continue
			}
			if _, err := w.conn.ExecContext(ctx,
				"INSERT INTO contact_attributes (contact_id, name, value, norm) VALUES (?, ?, ?, ?)",
				newID, name, v, store.NormalizeAttribute(name, v)); err != nil {
				return err
			}
		}
		id, created = newID, true
		return nil
	})
	if err != nil {
		return "", false, fmt.Errorf("sqlite: identify contact by %s: %w", key, err)
	}
	return id, created, nil
}

// findContact returns the oldest contact whose attribute key has the
// normalized value norm.
func findContact(ctx context.Context, q querier, key, norm string) (string, error) {
	var id string
	err := q.QueryRowContext(ctx, `SELECT c.id FROM contact_attributes a JOIN contacts c ON c.id = a.contact_id
		WHERE a.name = ? AND a.norm = ? ORDER BY c.created_at, c.id LIMIT 1`, key, norm).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", store.ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("sqlite: find contact by %s: %w", key, err)
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
	err := s.rdb.QueryRowContext(ctx, "SELECT created_at FROM contacts WHERE id = ?", id).Scan(&created)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Contact{}, fmt.Errorf("sqlite: get contact %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.Contact{}, fmt.Errorf("sqlite: get contact %s: %w", id, err)
	}
	c.CreatedAt = fromMicros(created)
	rows, err := s.rdb.QueryContext(ctx, "SELECT name, value FROM contact_attributes WHERE contact_id = ?", id)
	if err != nil {
		return store.Contact{}, fmt.Errorf("sqlite: get contact %s: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var name, value string
		if err := rows.Scan(&name, &value); err != nil {
			return store.Contact{}, fmt.Errorf("sqlite: get contact %s: %w", id, err)
		}
		c.Attributes[name] = value
	}
	if err := rows.Err(); err != nil {
		return store.Contact{}, fmt.Errorf("sqlite: get contact %s: %w", id, err)
	}
	return c, nil
}
