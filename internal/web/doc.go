// Package web serves Confab's browser user interface, embedded in the
// binary with go:embed: the node's start page (/), the customer chat
// widget (/widget/widget.js, one script tag, usable on any origin) with a
// demo shop page (/widget/), and the agent desktop with the supervisor
// console (/desk/). The pages are plain JavaScript modules and CSS; nothing
// is built and nothing is fetched from anywhere but this node at run time.
//
// The widget speaks the customer Chat API v2 (REST and the WebSocket push,
// or its CometD form with data-transport="cometd") and renders rich
// messages (static/widget/rich.js); the desktop speaks the agent WebSocket
// protocol. The package holds no chat logic: it serves files, a small JSON
// description of where the APIs listen (/desk/config.json) and the first
// run's sign-in links.
//
// demo.go creates the demo accounts of a first run on a loopback listener;
// signin.go redeems their one-time sign-in links (SignIns, whose Redeem is
// serialised by a mutex so that a link works once).
//
// # Concurrency
//
// A Handler is immutable once built and safe for concurrent use; its
// Locate function is called per request and must be safe for concurrent
// use too.
package web
