package config

import (
	"fmt"
	"strings"
)

// expand replaces ${NAME} and ${NAME:-default} in s with values from env.
// ${NAME:-default} takes the default when NAME is unset or empty; the
// default may itself hold references. "$${" stands for a literal "${", and
// any other "$" is kept as it is, so passwords with dollars survive.
//
// It returns the expanded text, the values that came from the environment
// (they are treated as secrets) and problems. Problem messages name
// variables, never values or the text around them.
func expand(s string, env func(string) (string, bool)) (out string, secrets []string, problems []string) {
	if !strings.Contains(s, "$") {
		return s, nil, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] != '$' {
			j := strings.IndexByte(s[i:], '$')
			if j < 0 {
				j = len(s) - i
			}
			b.WriteString(s[i : i+j])
			i += j
			continue
		}
		switch {
		case strings.HasPrefix(s[i:], "$${"):
			b.WriteString("${")
			i += 3
		case strings.HasPrefix(s[i:], "${"):
			end := closingBrace(s, i+2)
			if end < 0 {
				problems = append(problems, "unterminated ${ (write ${NAME} or ${NAME:-default}, or $${ for a literal ${)")
				return "", secrets, problems
			}
			inner := s[i+2 : end]
			i = end + 1
			name, def, hasDef := strings.Cut(inner, ":-")
			if !validVarName(name) {
				problems = append(problems, "a ${...} reference must name an environment variable (letters, digits and _, not starting with a digit)")
				continue
			}
			val, set := env(name)
			switch {
			case val != "":
				b.WriteString(val)
				secrets = append(secrets, val)
			case hasDef:
				d, sec, ps := expand(def, env)
				b.WriteString(d)
				secrets = append(secrets, sec...)
				problems = append(problems, ps...)
			case set:
				// Set but empty, no default: empty is what the user asked for.
			default:
				problems = append(problems, fmt.Sprintf("environment variable %s is not set (set it, or give a default with ${%s:-default})", name, name))
			}
		default:
			b.WriteByte('$')
			i++
		}
	}
	return b.String(), secrets, problems
}

// closingBrace returns the index of the '}' closing a "${" whose body
// starts at from, counting nested braces so defaults may hold references.
func closingBrace(s string, from int) int {
	depth := 1
	for j := from; j < len(s); j++ {
		switch s[j] {
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return j
			}
		}
	}
	return -1
}

func validVarName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_', c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
