// Package limits enforces a node's load limits ([settings]
// limits-control-enabled, limit-for-sessions, limit-for-flex-users,
// limit-for-reply-delay over limit-average-interval,
// limits-restore-threshold, limits-reached-report-scs).
//
// When a limited metric reaches its limit the node becomes limited: new
// sessions (and so customer logins) and restorations are refused, every
// refusal counted, and readiness is reported as unavailable. It returns to
// full service only when every metric that tripped has fallen to the
// restore threshold, a percentage of its limit (limit 400 and threshold
// 80: limited at 400, accepting again at 320).
//
// Time comes from the injected clock. A Controller is safe for concurrent
// use: the reply-delay window is made of atomics (observing a request
// takes no lock) and the limited state sits behind one mutex, taken when a
// session is created and when readiness is asked.
package limits
