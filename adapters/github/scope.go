package github

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/tracksync/tracksync/adapters"
)

// scope is a parsed ListRequest.Scope:
//
//	owner/repo [owner/repo2 ...] [label:x ...] [state:open|all]
//
// Repositories are listed in the order given. Each label: term narrows
// the listing to issues carrying that label (all of them when repeated);
// state:open lists open issues only (an issue closed afterwards then
// simply stops appearing), state:all, the default, lists both.
type scope struct {
	repos  []string
	labels []string
	state  string
}

func parseScope(s string) (scope, error) {
	sc := scope{state: "all"}
	for _, term := range strings.Fields(s) {
		switch {
		case strings.HasPrefix(term, "label:"):
			l := strings.Trim(strings.TrimPrefix(term, "label:"), `"'`)
			if l == "" {
				return sc, fmt.Errorf("scope %q: empty label: %w", s, adapters.ErrInvalid)
			}
			sc.labels = append(sc.labels, l)
		case strings.HasPrefix(term, "state:"):
			st := strings.TrimPrefix(term, "state:")
			if st != "open" && st != "all" {
				return sc, fmt.Errorf("scope %q: state:%s: want state:open or state:all: %w", s, st, adapters.ErrInvalid)
			}
			sc.state = st
		default:
			o, r, ok := strings.Cut(term, "/")
			if !ok || o == "" || r == "" || strings.Contains(r, "/") {
				return sc, fmt.Errorf("scope %q: %q is not owner/repo, label:x or state:open|all: %w", s, term, adapters.ErrInvalid)
			}
			sc.repos = append(sc.repos, term)
		}
	}
	if len(sc.repos) == 0 {
		return sc, fmt.Errorf("scope %q names no repository (want owner/repo ...): %w", s, adapters.ErrInvalid)
	}
	return sc, nil
}

// repoCursor is where one repository's listing stands: issues updated at
// or after Since (second precision, as GitHub's since is inclusive) still
// to look at, except Seen, the issue numbers at exactly Since already
// returned, by number, with the version they had (so one changed again
// within that second is not skipped); ETag is the answer to the first
// page of that query, for a conditional request.
type repoCursor struct {
	Since string            `json:"s,omitempty"`
	ETag  string            `json:"e,omitempty"`
	Seen  map[string]string `json:"n,omitempty"`
}

// cursor is the opaque ListPage.Cursor: one position per repository.
type cursor map[string]repoCursor

// pageToken carries a listing in progress: which repository and page, the
// ETag of that repository's first page, and the cursor being built.
type pageToken struct {
	Repo int    `json:"r"`
	Page int    `json:"p"`
	Next cursor `json:"c"`
}

func parseCursor(s string) (cursor, error) {
	c := cursor{}
	if s == "" {
		return c, nil
	}
	if err := adapters.DecodeToken(s, &c); err != nil {
		return nil, fmt.Errorf("cursor %q is not one this tracker issued: %w", s, adapters.Permanent(adapters.ErrInvalid))
	}
	return c, nil
}

// parseRef finds the repository and number of an issue from a Ref:
// ID "owner/repo#12", or a bare number with Project "owner/repo", or the
// same forms in Key when ID is empty.
func parseRef(ref adapters.Ref) (repo string, number int, err error) {
	id := ref.ID
	if id == "" {
		id = ref.Key
	}
	repo = ref.Project
	num := id
	if r, n, ok := strings.Cut(id, "#"); ok {
		if r != "" {
			repo = r
		}
		num = n
	}
	number, convErr := strconv.Atoi(num)
	if convErr != nil || number < 1 || !strings.Contains(repo, "/") {
		return "", 0, fmt.Errorf("github item %q is not owner/repo#number: %w", id, adapters.ErrNotFound)
	}
	return repo, number, nil
}

func issueID(repo string, number int) string { return repo + "#" + strconv.Itoa(number) }
