// Package cometd is the CometD form of the customer Chat API v2: a small
// Bayeux 1.0 server at /genesys/cometd and, on it, the service channel
// /service/chatV2/{serviceName} that the vendor widget and the stock cometd
// clients publish their Chat API operations to and receive the answers
// and transcript events on. docs/customer-api.md ("CometD") is the wire
// contract.
//
// # Shape
//
//   - message.go: the Bayeux message, the batch decoder (the one decoder of
//     outside input here, fuzzed), error strings ("402::Unknown client");
//   - server.go: Options, New, Register, Shutdown, the client table and the
//     BAYEUX_BROWSER cookie;
//   - client.go: one Bayeux client: its bounded queue, its delivery source,
//     the held /meta/connect and the expiry timer;
//   - meta.go: the meta channels and publish, transport-neutral;
//   - http.go: the long-polling (JSON POST, with the /handshake, /connect,
//     … suffixes the clients append) and callback-polling (JSONP GET)
//     transports, CORS, and /genesys/2/chat-ntf;
//   - ws.go: the websocket transport;
//   - chatv2.go: the Chat API v2 service: each publish is a webapi.Call,
//     each answer and each later batch of events (a webapi.Feed) is one
//     delivery whose data is exactly the REST response body;
//   - cluster.go: in a cluster, Options.Locate brings an operation's chat to
//     this node first (a Bayeux client lives on one node, so its chat comes
//     to it); Moved and Taken drop or replace the clients of a chat the node
//     lost, which handshake again and resume from their position.
//
// The operations are webapi's own (webapi.API.Call runs the REST handlers),
// so this package adds no second copy of the Chat API logic: it only
// translates Bayeux to calls and answers to deliveries.
//
// # Delivery and the slow-consumer rule
//
// A client's deliveries come from two places: its queue (the answers of
// its publishes, at most MaxQueue of them) and its source (the chat feed:
// the transcript is the queue, as for the WebSocket push, and a client
// more than webapi's MaxBacklog events behind gets a resync answer). A
// client whose queue overflows, or that falls behind its feed, is dropped
// after what it was sent: its next request gets 402::Unknown client with
// advice reconnect=handshake, and it recovers by handshaking again and
// sending requestNotifications, as the widget does.
//
// # Concurrency
//
// A Server is safe for concurrent use. Locks: Server.mu guards the client
// table; Client.mu guards one client's queue, source and connect state;
// Client.op serialises a client's publishes with the draining of its
// deliveries (so an answer that carries events and the feed never deliver
// the same event twice). Order: Client.op before Client.mu; Server.mu is
// never held with either. No lock is held while a transport writes or
// waits.
//
// Time: connect holds and client expiry use the injected clock.Clock;
// only network write deadlines use the wall clock.
package cometd
