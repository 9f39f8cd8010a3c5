// Package contracttest loads the trackers' own API descriptions (OpenAPI)
// from the contracts folder for the tests that check the adapters and
// their fakes against them. It is for tests only: it takes a *testing.T
// and links kin-openapi, which the binary does not.
package contracttest

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// Dir is the contracts folder: $TRACKSYNC_CONTRACTS, else
// ../shared/contracts beside the module root (the folder holding go.mod).
func Dir() string {
	if dir := os.Getenv("TRACKSYNC_CONTRACTS"); dir != "" {
		return dir
	}
	wd, _ := os.Getwd()
	for d := wd; filepath.Dir(d) != d; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(d, "..", "shared", "contracts")
		}
	}
	return ""
}

// The descriptions are megabytes and take seconds to load, so a test
// binary loads each once.
var (
	mu     sync.Mutex
	loaded = map[string]*contract{}
)

type contract struct {
	once   sync.Once
	doc    *openapi3.T
	router routers.Router
	err    error
}

// Router loads the description at rel under Dir once per test binary and
// routes requests to it as if sent to host, after prepare (nil: none)
// adjusted it where it contradicts the service. It skips t, naming the
// tracker (what), when the file is absent. doc.Validate is not called: it
// trips on path-name clashes in the vendors' descriptions that do not
// affect routing.
func Router(t testing.TB, what, rel, host string, prepare func(*openapi3.T)) routers.Router {
	t.Helper()
	return load(t, what, rel, host, prepare).router
}

// Doc is the description Router routes to (loaded once, prepared the same
// way), for the checks that read its schemas directly (webhook payloads).
func Doc(t testing.TB, what, rel, host string, prepare func(*openapi3.T)) *openapi3.T {
	t.Helper()
	return load(t, what, rel, host, prepare).doc
}

func load(t testing.TB, what, rel, host string, prepare func(*openapi3.T)) *contract {
	t.Helper()
	path := filepath.Join(Dir(), rel)
	if _, err := os.Stat(path); err != nil {
		t.Skipf("%s contract not found at %s (set TRACKSYNC_CONTRACTS to the folder holding %s): skipping the contract check", what, path, rel)
	}
	mu.Lock()
	c := loaded[path]
	if c == nil {
		c = &contract{}
		loaded[path] = c
	}
	mu.Unlock()
	c.once.Do(func() {
		doc, err := openapi3.NewLoader().LoadFromFile(path)
		if err != nil {
			c.err = err
			return
		}
		if prepare != nil {
			prepare(doc)
		}
		doc.Servers = openapi3.Servers{{URL: host}}
		c.doc = doc
		c.router, c.err = gorillamux.NewRouter(doc)
	})
	if c.err != nil {
		t.Fatalf("loading the %s contract %s: %v", what, path, c.err)
	}
	return c
}
