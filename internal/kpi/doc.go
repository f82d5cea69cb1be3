// Package kpi holds a node's KPI counters: the cumulative and current
// figures the health port serves at /Counters (in the reference's JSON
// shape or Prometheus text) and /metrics, and prints to the log.
//
// A Set is owned by the node that creates it; there is no package-level
// state, so two nodes in one test process count separately. Counters are
// atomics: updating one never takes a lock, and the journal that counts
// sessions and messages (Journal) only touches atomics, which keeps it
// cheap enough for the engine's message path. Reading (Snapshot, the
// Prometheus collector) may run concurrently with updates; a Reader, which
// remembers what it last saw for content=new, serialises its own reads.
//
// Cumulative counters can be reset (the /Counters reset parameter, the
// [health-service] log-output-content rule): a reset moves the counter's
// base, so the KPI value starts again from zero while the Prometheus
// exposition keeps its monotonic raw value, as Prometheus expects.
package kpi
