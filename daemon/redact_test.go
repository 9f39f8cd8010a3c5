package daemon

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tracksync/tracksync/internal/redact"
)

// TestAnswersRedacted: a handler that writes a tracker's message holding a
// credential (as /status does with a run error, /readyz with a check) has
// it masked on the way out, and a Content-Length set for the unredacted
// body is dropped rather than sent wrong.
func TestAnswersRedacted(t *testing.T) {
	const secret = "daemon-echo-SECRET-77"
	redact.Global.Add(secret)
	h := redacted(func(w http.ResponseWriter, r *http.Request) {
		body := fmt.Sprintf(`{"error":"HTTP 401: bad token %s"}`, secret)
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		w.WriteHeader(http.StatusOK)
		fmt.Fprint(w, body)
	})
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), secret) || !strings.Contains(string(b), redact.Mask) {
		t.Fatalf("answer: %s", b)
	}
}
