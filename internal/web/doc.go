// Package web serves Confab's browser user interface, embedded in the
// binary with go:embed: the node's start page (/), the customer chat
// widget (/widget/widget.js, one script tag, usable on any origin) with a
// demo shop page (/widget/), and the agent desktop with the supervisor
// console (/desk/). The pages are plain JavaScript modules and CSS; nothing
// is built and nothing is fetched from anywhere but this node at run time.
//
// The widget speaks the customer Chat API v2 (REST and the WebSocket push);
// the desktop speaks the agent WebSocket protocol. The package holds no
// chat logic: it only serves files and a small JSON description of where
// the APIs listen (/desk/config.json).
//
// demo.go creates the demo accounts of a first run on a loopback listener.
//
// # Concurrency
//
// A Handler is immutable once built and safe for concurrent use; its
// Locate function is called per request and must be safe for concurrent
// use too.
package web
