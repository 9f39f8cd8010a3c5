// Package sync is tracksync's engine. For one flow it reads both sides'
// changes since their cursors, pairs them through the links in the state
// store, computes a per-field 3-way diff against each link's base snapshot,
// settles conflicts by the flow's policy and produces a Plan: a list of typed
// operations that can be printed (as text or JSON) and applied. A plan is
// applied by the engine that computed it, in the same run: it carries what
// that run read, so a plan decoded from JSON is for reading only. Apply journals every
// write before the API call and records its effect after, so a run killed at
// any point converges on restart without duplicates; a write tracksync made
// becomes the new base, so it is never echoed back.
//
// Importers usually name it tsync, to keep the standard library's sync free.
package sync
