// Package faults makes the garbled answers the tracker fakes (jiratest,
// githubtest) inject: a 2xx whose body is not what the call expects, as a
// proxy's login page, a connection cut mid-answer or a misbehaving
// gateway gives. The adapters must take none of them for success.
package faults

// Garble is a kind of unreadable body.
type Garble int

const (
	// None leaves the answer alone.
	None Garble = iota
	// HTML is a single sign-on login page, text/html.
	HTML
	// Cut is the real answer cut off halfway.
	Cut
	// Empty is no body at all.
	Empty
	// EmptyObject is {}.
	EmptyObject
)

func (g Garble) String() string {
	switch g {
	case None:
		return "none"
	case HTML:
		return "HTML login page"
	case Cut:
		return "cut JSON"
	case Empty:
		return "empty body"
	case EmptyObject:
		return "{}"
	}
	return "garble?"
}

// NeedsAnswer reports whether the garbled body is made from the real
// answer (Cut), so that the request must be carried out first.
func (g Garble) NeedsAnswer() bool { return g == Cut }

// LoginPage is the HTML body HTML answers with.
const LoginPage = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in - Corporate SSO</title></head>
<body><form method="post" action="/sso/login"><input name="username"><input type="password" name="password">
<button>Sign in</button></form></body></html>
`

// Body is what an answer carries instead of real, and its Content-Type.
func (g Garble) Body(real []byte) (body []byte, contentType string) {
	switch g {
	case HTML:
		return []byte(LoginPage), "text/html; charset=utf-8"
	case Cut:
		if len(real) < 2 {
			return []byte(`{"`), "application/json"
		}
		return real[:len(real)/2], "application/json"
	case Empty:
		return []byte{}, "application/json"
	case EmptyObject:
		return []byte("{}"), "application/json"
	}
	return real, "application/json"
}
