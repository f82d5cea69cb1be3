// Package config owns Confab's configuration: the catalogue of every
// option (section, name, default, valid values, when a change takes
// effect, whether Confab implements it yet), the INI file format, the
// typed Config built from a file, validation, and hot reload.
//
// # File format
//
// The file is INI, using the reference server's own section and option
// names so an administrator can carry options over unchanged:
//
//	; comments start with ';' or '#'
//	[settings]
//	flex-disconnect-timeout = 300
//	transcript-auto-save = 1
//
//	[tenants]
//	Environment = 1
//
//	[endpoints:1]
//	default = Chat In
//
//	[chat]
//	default_chat_endpoint = Environment:default
//
//	[chat.customer-support]
//	_chat_endpoint = 1:support
//
//	[ports]
//	webapi = 0.0.0.0:8778
//
// ParseINI describes the syntax exactly. Option names are case-sensitive.
// Booleans accept true/false, yes/no and 1/0 in any case. Durations are
// whole seconds unless the option says milliseconds. Options missing from
// the file keep their defaults; the [tenants] and [endpoints:N] sections,
// when present, replace the built-in tenant and endpoint as a whole.
//
// # Errors and warnings
//
// Parse and Load report every invalid value at once, each naming the
// file, line, section, option, value and valid range, and then return no
// Config. Unknown sections or options, legacy names (for example
// [settings] transcript-cleanup-mask, now [transcript-cleanup]
// default-repchar) and endpoint references that do not resolve are
// warnings: the file still loads.
//
// # Immutability and reload
//
// A *Config is never modified once returned, so it can be shared by any
// number of goroutines without locking; its maps are read-only too. A
// reload builds a new Config. The Watcher holds the active one: it
// reloads on Reload (SIGHUP) or when the file changes, keeps the last good
// Config if the file is invalid, applies changes to options that take
// effect immediately, and keeps the old value of options that need a
// restart, logging each change either way. Diff and Reconcile expose that
// decision for tests and tools.
//
// # Catalogue
//
// Options lists the catalogue and WriteTable prints it. Where the reference
// leaves a default or range unknown, the option's Doc says that the value
// is Confab's choice. The package imports only the standard library.
package config
