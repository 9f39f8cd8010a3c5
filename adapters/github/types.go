package github

// issueType is an issue's type (Bug, Task, Epic, ...), where the
// organization has issue types; GitHub answers it as an object or null.
type issueType struct {
	ID     int64  `json:"id"`
	NodeID string `json:"node_id"`
	Name   string `json:"name"`
}

// typeName is the issue's type name, "" for none.
func (is *issue) typeName() string {
	if is.Type == nil {
		return ""
	}
	return is.Type.Name
}
