package initiatives

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	east "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/text"

	"github.com/tracksync/tracksync/adapters"
)

// labelTemplate is a label with "{key}" in it: initiative:{key}.
type labelTemplate struct{ prefix, suffix string }

func newTemplate(t string) labelTemplate {
	p, s, _ := strings.Cut(t, "{key}")
	return labelTemplate{prefix: p, suffix: s}
}

// label is the label naming initiative key.
func (t labelTemplate) label(key string) string { return t.prefix + key + t.suffix }

// match returns the initiative key a label names, if it fits the template.
// Labels are compared case-insensitively on the fixed parts (GitHub keeps
// its own spelling of a label).
func (t labelTemplate) match(label string) (string, bool) {
	if len(label) <= len(t.prefix)+len(t.suffix) {
		return "", false
	}
	if !strings.EqualFold(label[:len(t.prefix)], t.prefix) || !strings.EqualFold(label[len(label)-len(t.suffix):], t.suffix) {
		return "", false
	}
	return label[len(t.prefix) : len(label)-len(t.suffix)], true
}

var (
	md = goldmark.New(goldmark.WithExtensions(extension.TaskList))
	// issueURL is a GitHub issue link: https://github.com/owner/repo/issues/12.
	issueURL = regexp.MustCompile(`^https?://[^/]+/([^/\s]+/[^/\s]+)/issues/(\d+)\b`)
	// refToken is a tracker key at the start of a task: #12, owner/repo#12,
	// PLAT-12, or tracker:key.
	refToken = regexp.MustCompile(`^(?:[A-Za-z0-9._-]+:)?(?:[A-Za-z0-9._-]+/[A-Za-z0-9._-]+)?#\d+\b|^(?:[A-Za-z0-9._-]+:)?[A-Z][A-Z0-9_]*-\d+\b`)
)

// taskRefs returns the item refs a Markdown body's task lists name, in
// order: "- [ ] #12", "- [x] owner/repo#3", "- [ ] PLAT-7", a link to an
// issue. repo qualifies the short form #12. Task lists inside code blocks
// are not tasks, which is why this parses the Markdown instead of matching
// lines.
func taskRefs(body, repo string) []string {
	if !strings.Contains(body, "[") {
		return nil
	}
	src := []byte(body)
	doc := md.Parser().Parse(text.NewReader(src))
	var out []string
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		box, ok := n.(*east.TaskCheckBox)
		if !ok {
			return ast.WalkContinue, nil
		}
		// The text after the box, up to the end of its block.
		var sb strings.Builder
		for s := box.NextSibling(); s != nil; s = s.NextSibling() {
			switch v := s.(type) {
			case *ast.Link:
				if sb.Len() == 0 {
					dest := string(v.Destination)
					if m := issueURL.FindStringSubmatch(dest); m != nil {
						sb.WriteString(m[1] + "#" + m[2])
					} else {
						sb.WriteString(nodeText(v, src))
					}
				}
			case *ast.AutoLink:
				if sb.Len() == 0 {
					sb.WriteString(string(v.URL(src)))
				}
			default:
				sb.WriteString(nodeText(s, src))
			}
			if sb.Len() > 200 {
				break
			}
		}
		if r := parseTaskRef(strings.TrimSpace(sb.String()), repo); r != "" {
			out = append(out, r)
		}
		return ast.WalkSkipChildren, nil
	})
	return out
}

func nodeText(n ast.Node, src []byte) string {
	var sb strings.Builder
	if t, ok := n.(*ast.Text); ok {
		sb.Write(t.Segment.Value(src))
		return sb.String()
	}
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		sb.WriteString(nodeText(c, src))
	}
	return sb.String()
}

// parseTaskRef reads the ref at the start of a task's text.
func parseTaskRef(s, repo string) string {
	if m := issueURL.FindStringSubmatch(s); m != nil {
		return m[1] + "#" + m[2]
	}
	tok := refToken.FindString(s)
	if tok == "" {
		return ""
	}
	if strings.HasPrefix(tok, "#") {
		if repo == "" {
			return ""
		}
		return repo + tok
	}
	return tok
}

// estimateOf reads an item's estimate per the tracker's rule; 0 is unknown.
func estimateOf(it adapters.Item, rule estimateRule) float64 {
	if rule.field != "" {
		v := strings.TrimSpace(it.Fields[rule.field])
		f, err := strconv.ParseFloat(v, 64)
		// ParseFloat takes "NaN" and "Inf" too: text, not estimates.
		if err != nil || f < 0 || math.IsNaN(f) || math.IsInf(f, 0) {
			return 0
		}
		return f
	}
	best := 0.0
	for _, l := range it.Labels {
		for name, v := range rule.labels {
			if strings.EqualFold(name, l) && v > best {
				best = v
			}
		}
	}
	return best
}

// startKeys are the fields read as an item's start date, in order.
var startKeys = []string{"start", "started", "Start date", "Start Date", "start_date"}

func dateOf(s string) time.Time {
	if len(s) < 10 {
		return time.Time{}
	}
	t, err := time.Parse("2006-01-02", s[:10])
	if err != nil {
		return time.Time{}
	}
	return t
}

func startOf(it adapters.Item) time.Time {
	for _, k := range startKeys {
		if t := dateOf(it.Fields[k]); !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}

// repoOf is the owner/repo of a GitHub item's key (owner/repo#12).
func repoOf(it adapters.Item) string {
	if it.Ref.Project != "" && strings.Contains(it.Ref.Project, "/") {
		return it.Ref.Project
	}
	if r, _, ok := strings.Cut(it.Ref.Key, "#"); ok {
		return r
	}
	return ""
}
