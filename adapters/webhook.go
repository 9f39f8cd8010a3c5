package adapters

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
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
