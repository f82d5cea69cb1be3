// Package bench is Confab's load generator: `confab bench <scenario>`. It
// drives a real server only through its public APIs — customers through the
// Chat API v2 client (client/chatv2: WebSocket push, long-poll or short
// polling), agents through the agent protocol (client/agent), workflow
// greetings through ESP (client/esp) — and never reaches into the server's
// memory. It measures, checks correctness while it measures, and reports.
//
// # Pieces
//
//   - proc.go: the server under test. StartServer runs the confab binary as
//     a child `confab serve --listen 127.0.0.1:0` with a scratch data
//     directory and a generated configuration (transcript-auto-save = 1,
//     no session limit, known [admin] and [esp] tokens), reads the listen
//     addresses it prints, waits for /readyz, and reads its CPU time and
//     memory from /proc (utime+stime, VmRSS, VmHWM) and, at exit, from the
//     kernel's rusage. agentcli.go creates agent accounts with the CLI.
//   - run.go, runner.go: Options, the scenario table, Run (set-up, the
//     measured phase with a sample every second and a progress line, then
//     tear-down and the verdict).
//   - dense.go, async.go, churn.go, throughput.go, cometd.go, abuse.go: the scenarios; each
//     file's comment says its shape. densesteps.go is the dense session's
//     timeline as a chain of steps on runtime timers.
//   - customer.go, sched.go, agents.go: the simulated parties. A WebSocket
//     customer has one reader goroutine (its keepalives are a runtime
//     timer of client/chatv2, no goroutine); a long-poll customer one goroutine
//     looping over waiting refreshes; short-polling customers have none: a
//     scheduler (one dispatcher and a fixed pool of workers over a heap of
//     due times) polls them. An agent socket has one goroutine routing its
//     events frames to the sessions it is in.
//   - hafleet.go, haload.go, failover.go: `confab bench failover`. A Fleet
//     is N child nodes on one PostgreSQL schema (made for the run and
//     dropped); the HA load spreads chats over them (push customers through
//     every node, agents on the owner's sockets) and follows them through a
//     SIGKILL or a drain (clients move, subscribers resubscribe, agents join
//     again where the chat now lives), counting every text exactly; the
//     scenario times the failover or measures 1 vs N node throughput.
//   - tracker.go: correctness. Every message text carries its stream (one
//     sender in one session with one visibility), its number in the stream
//     and its send time; each receiving party records what it got, so
//     losses, duplicates, reordering and leaks (a coaching message reaching
//     a customer, a message crossing sessions) are counted exactly, and the
//     latency of each first delivery is recorded.
//   - hist.go, metrics.go: a log-linear histogram (HDR-like, 1/128
//     precision, lock-free recording), counters, errors by kind and the
//     per-second series.
//   - report.go, html.go: the stdout table, the JSON result and a
//     self-contained HTML report with inline SVG charts; each gives the
//     server's and the generator's own CPU per delivered message.
//   - genstats.go: the generator's own runtime in every second of the
//     series (its CPU, its GC's CPU and pauses, how long its goroutines
//     waited runnable, its goroutines, its read and write system calls),
//     printed as the generator timeline and summed over the run, so that a
//     message the generator read late is told apart from one the server
//     delivered late (densecause.go names which for the worst second).
//   - transport.go: the generator's HTTP/1.1 transport (customers' calls,
//     agents' and push handshakes): the calling goroutine writes and reads
//     on a kept-alive connection, none of net/http Transport's per
//     connection goroutines and hand-offs (--net-http goes back to it).
//     profile.go: --cpuprofile (the generator only) and the generator's
//     GC setting.
//   - goalcheck.go, goals.go: the issues' goals, each judged met or missed
//     (dense: p99 < 100 ms, 0 lost, 0 duplicated; throughput: 20,000
//     delivered per second) in the table, the JSON and the HTML.
//   - rated.go, compare.go: throughput's fixed-rate phase (--rate: CPU per
//     message at an offered rate the server keeps up with) and
//     --auto-save both (RunCompare: rounds alternating transcript-auto-save
//     1 and 0, each on a fresh server, and the ratios of issue 17).
//
// # Concurrency
//
// Every scenario runs its sessions on their own goroutines, except dense:
// a dense session has a goroutine only while one of its steps makes its
// calls (or waits for its parties to catch up), none through its gaps;
// a step starts the next one's timer, so one step of a session runs at a
// time, and the end of the run's context ends the sessions waiting out a
// gap (stepTimers); the Tracker, Metrics and
// Histogram are safe for concurrent use and take no lock on the recording
// path except the session's own small mutex in the Tracker. All traffic
// goes to loopback addresses (checkLocal refuses anything else).
package bench
