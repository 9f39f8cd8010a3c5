package adapters

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
)

// VerifySHA256 checks sig, a "sha256=<hex>" HMAC-SHA256 of body under
// secret as GitHub (X-Hub-Signature-256) and Jira (X-Hub-Signature) send
// it, in constant time. header names the header in the error, which wraps
// ErrUnauthorized and never holds the secret or the expected value.
func VerifySHA256(secret, header, sig string, body []byte) error {
	if secret == "" {
		return fmt.Errorf("no webhook_secret configured, so no delivery can be verified: %w", ErrUnauthorized)
	}
	if sig == "" {
		return fmt.Errorf("no %s: %w", header, ErrUnauthorized)
	}
	hexSig, ok := strings.CutPrefix(sig, "sha256=")
	got, err := hex.DecodeString(hexSig)
	if !ok || err != nil {
		return fmt.Errorf("malformed %s (want sha256=<hex>): %w", header, ErrUnauthorized)
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	if !hmac.Equal(got, m.Sum(nil)) {
		return fmt.Errorf("%s does not match: %w", header, ErrUnauthorized)
	}
	return nil
}

// EncodeToken packs v (JSON) into an opaque, URL-safe cursor or page
// token.
func EncodeToken(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeToken reads what EncodeToken wrote into v.
func DecodeToken(s string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// DeliverySet remembers the last n webhook delivery ids, so a redelivery
// (same X-GitHub-Delivery, X-Atlassian-Webhook-Identifier) decodes to
// nothing. It is safe for concurrent use.
type DeliverySet struct {
	mu    sync.Mutex
	n     int
	order []string
	set   map[string]bool
}

// NewDeliverySet returns a set that keeps the last n ids.
func NewDeliverySet(n int) *DeliverySet { return &DeliverySet{n: n, set: map[string]bool{}} }

// Has reports whether id was added and is still remembered.
func (s *DeliverySet) Has(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.set[id]
}

// Remove forgets id, so that its next sighting is new again.
func (s *DeliverySet) Remove(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.set[id] {
		return
	}
	delete(s.set, id)
	for i, o := range s.order {
		if o == id {
			s.order = append(s.order[:i], s.order[i+1:]...)
			break
		}
	}
}

// Add records id and reports whether it was new.
func (s *DeliverySet) Add(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.set[id] {
		return false
	}
	s.set[id] = true
	s.order = append(s.order, id)
	if len(s.order) > s.n {
		delete(s.set, s.order[0])
		s.order = s.order[1:]
	}
	return true
}
