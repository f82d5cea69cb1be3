// Package health serves a node's KPI counters on the health port:
// GET /Counters with the reference's parameters (metadata, content,
// reset, prometheus, gms_info) and GET /metrics, the Prometheus
// exposition of the counters, the request and store-commit latency
// histograms and the Go runtime and process collectors, gathered from a
// private registry (never the global one).
//
// A Handler is safe for concurrent use; it holds no state of its own but
// the Reader that remembers what content=new last returned.
package health
