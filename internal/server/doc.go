// Package server assembles a running Confab node: it opens the store, builds
// the chat engine and its journal, mounts every protocol adapter on the
// listener its [ports] id names, follows configuration reloads, and shuts
// everything down in order.
//
// Start-up order: store, journal, engine, adapters, listeners. Shutdown order
// (Server.Shutdown): report not ready, stop accepting and finish in-flight
// requests (WebSocket adapters are told through http.Server.RegisterOnShutdown),
// then flush and close the store. A Server is used by one goroutine that calls
// Start and then Shutdown; its accessors are safe for concurrent use.
package server
