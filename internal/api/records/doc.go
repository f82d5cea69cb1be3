// Package records serves the contact history to integrations and agent
// desktops, behind the admin token: one interaction's stored record
// (state, user data, reporting statistics, final transcript) and a
// contact with its interactions, newest first, in pages.
//
// It reads the store only; a Handler holds no mutable state and is safe
// for concurrent use.
package records
