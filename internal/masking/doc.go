// Package masking keeps a node's masking policy: it reads the
// [transcript-cleanup] options and the operator's rules in the store,
// compiles them with package pii and installs the result on the engine, at
// start, on every configuration reload and whenever the rules change
// through Add or Remove (the admin API and `confab pii`). A rule set that
// does not compile is refused with the rule and the position of the fault,
// and the last good policy stays in force.
//
// Concurrency: a Manager is safe for concurrent use; its mutex serialises
// rebuilds so two changes never install out of order.
package masking
