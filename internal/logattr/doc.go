// Package logattr is the one way Confab puts chat content into its logs:
// message texts and user-data (or event-attribute) values go through a
// Filter, which applies [settings] message-log-print-size and
// hide-attached-data and the [log-filter-data] section, so a card number a
// customer typed, or an e-mail address in the user data, reaches the log
// only as far as the operator allowed. Code that logs chat content must use
// Text, Data or Value instead of putting the content in an attribute
// itself; a server test runs a whole chat with a recording handler and
// fails on any other path.
//
// The attributes are slog.LogValuers: nothing is formatted unless the
// record is actually written.
//
// Concurrency: a Filter is safe for concurrent use; Set replaces its policy
// atomically (configuration reloads) and records being written see either
// the old or the new policy. A nil *Filter hides everything.
package logattr
