// Package migrate copies the items of one tracker (or one scope of it) into
// another once: `tracksync migrate`. It works beside the sync engine, not
// through it, reusing the adapters, a flow's mapping rules and the state
// store: every copy is journaled and linked under the flow name
// "migrate:<id>" as it is made, the plan and parameters are kept in the
// store's key-value space (scope "migrate:<id>"), and each item's copy
// carries the same idempotency key a flow would give it
// (ts2|<source identity>|<item id>|<target identity>), so a migration
// killed at any point and run again makes no duplicate and misses nothing,
// and a flow run over migrated items finds them instead of copying them.
//
// Items are copied parents first (a Jira epic before its children, a
// GitHub parent before its sub-issues), in batches through
// adapters.BulkCreator where the target has one. Once every item exists,
// each is finished: references to other migrated items in its body are
// rewritten to their copies' keys, its comments are copied in order under
// a line naming their author and time, and (optionally) a comment on the
// source points at the copy. Finishing an item records its base, which
// marks it done; with a hand-over flow the pair is also linked there, with
// bases, so the flow's first run writes nothing.
package migrate
