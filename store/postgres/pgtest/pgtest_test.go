package pgtest

import (
	"fmt"
	"strings"
	"testing"
)

// recorder stands in for a test, to see whether Schema skips or fails.
type recorder struct {
	*testing.T
	skipped, failed string
}

type stop struct{}

func (r *recorder) Helper() {}
func (r *recorder) Skipf(format string, args ...any) {
	r.skipped = fmt.Sprintf(format, args...)
	panic(stop{})
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
	panic(stop{})
}

func schemaOn(t *testing.T, dsn string, require bool) *recorder {
	t.Setenv("TRACKSYNC_TEST_POSTGRES", dsn)
	if require {
		t.Setenv("TRACKSYNC_REQUIRE_POSTGRES", "1")
	} else {
		t.Setenv("TRACKSYNC_REQUIRE_POSTGRES", "")
	}
	r := &recorder{T: t}
	func() {
		defer func() {
			if p := recover(); p != nil {
				if _, ok := p.(stop); !ok {
					panic(p)
				}
			}
		}()
		Schema(r)
	}()
	return r
}

// TestUnreachable: no server skips a test locally and fails it in CI,
// saying where it looked, without the password.
func TestUnreachable(t *testing.T) {
	const dsn = "postgres://u:hunter2@127.0.0.1:1/test?sslmode=disable&connect_timeout=2"
	r := schemaOn(t, dsn, false)
	if r.skipped == "" || r.failed != "" || !strings.Contains(r.skipped, "127.0.0.1:1") || !strings.Contains(r.skipped, "TRACKSYNC_REQUIRE_POSTGRES") {
		t.Errorf("locally: skipped %q, failed %q; want a skip naming the server and the variable", r.skipped, r.failed)
	}
	r = schemaOn(t, dsn, true)
	if r.failed == "" || r.skipped != "" || !strings.Contains(r.failed, "required") {
		t.Errorf("with TRACKSYNC_REQUIRE_POSTGRES=1: skipped %q, failed %q; want a failure", r.skipped, r.failed)
	}
	for _, msg := range []string{r.skipped, r.failed} {
		if strings.Contains(msg, "hunter2") {
			t.Errorf("message repeats the password: %s", msg)
		}
	}
}

func TestWithSearchPath(t *testing.T) {
	got := WithSearchPath(t, "postgres://u@h:5432/db?sslmode=disable", "s1")
	if !strings.Contains(got, "search_path=s1") || !strings.Contains(got, "sslmode=disable") {
		t.Errorf("WithSearchPath = %s", got)
	}
}
