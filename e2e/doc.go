// Package e2e holds end-to-end tests that run the real sync engine, with
// its SQLite store, between two real adapters talking to their fakes
// (Jira ⇄ GitHub). It has no code of its own: the tests live beside this
// file so that no adapter's test package has to import another adapter.
package e2e
