package adapters_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/tracksync/tracksync/adapters"
)

func TestIsTemporary(t *testing.T) {
	_, missing := os.Open(filepath.Join(t.TempDir(), "roadmap.yaml"))
	denied := &fs.PathError{Op: "open", Path: "/srv/roadmap.yaml", Err: syscall.EACCES}
	dial := &url.Error{Op: "Get", URL: "https://jira.example.com", Err: &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}}
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"rate limit", fmt.Errorf("listing: %w", &adapters.RateLimitError{Message: "slow down"}), true},
		{"429 status", adapters.StatusError("jira", "GET /x", 429, "slow", 0), true},
		{"503", adapters.StatusError("jira", "GET /x", 503, "maintenance", 0), true},
		{"500", adapters.StatusError("github", "PATCH /x", 500, "", 0), true},
		{"bad response", fmt.Errorf("reading page: %w", adapters.ErrBadResponse), true},
		{"network", fmt.Errorf("listing: %w", dial), true},
		{"deadline", fmt.Errorf("check: %w", context.DeadlineExceeded), true},
		{"cancelled", context.Canceled, false},
		{"401", adapters.StatusError("jira", "GET /x", 401, "bad creds", 0), false},
		{"404", adapters.StatusError("jira", "GET /x", 404, "", 0), false},
		{"400", adapters.StatusError("jira", "POST /x", 400, "field x is required", 0), false},
		{"not found sentinel", adapters.ErrNotFound, false},
		{"plain", errors.New("boom"), false},
		// A file error's errno looks like a net.Error (it has Timeout and
		// Temporary methods): a missing or unwritable roadmap or state file
		// needs a person, not a retry.
		{"missing file", fmt.Errorf("reading roadmap: %w", missing), false},
		{"permission denied", fmt.Errorf("writing roadmap: %w", denied), false},
		{"interrupted read", &fs.PathError{Op: "read", Path: "/x", Err: syscall.EINTR}, true},
		{"network errno", &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, true},
		// syscall.Errno has Timeout and Temporary methods, so it is a
		// net.Error: a missing or unwritable file is not temporary.
		{"file missing", fmt.Errorf("writing x: %w", &fs.PathError{Op: "open", Path: "/no/x", Err: syscall.ENOENT}), false},
		{"permission", &fs.PathError{Op: "open", Path: "/x", Err: syscall.EACCES}, false},
		{"connection reset", fmt.Errorf("reading: %w", syscall.ECONNRESET), true},
		{"all temporary", errors.Join(adapters.StatusError("jira", "PUT /a", 502, "", 0), dial), true},
		{"one permanent", errors.Join(adapters.StatusError("jira", "PUT /a", 502, "", 0), adapters.StatusError("jira", "PUT /b", 400, "bad", 0)), false},
	} {
		if got := adapters.IsTemporary(tc.err); got != tc.want {
			t.Errorf("%s: IsTemporary(%v) = %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
}
