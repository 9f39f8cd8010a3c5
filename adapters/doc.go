// Package adapters is tracksync's vocabulary: the canonical Item every tracker
// is translated into, the small Tracker interface each adapter implements,
// optional one-method capability interfaces found by type assertion, the
// sentinel errors adapters map HTTP statuses onto, and the registry adapters
// join from init().
//
// No vendor SDK is imported here: Jira, GitHub and Asana types stay inside
// their own adapter packages.
package adapters
