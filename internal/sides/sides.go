// Package sides names the two sides of a flow. It is its own package so
// that the packages that speak of sides (mapping, store, sync) share one
// type without mapping depending on the state store for it.
package sides

// Side is one side of a flow.
type Side string

// The two sides.
const (
	A Side = "a"
	B Side = "b"
)

// Other returns the opposite side.
func (s Side) Other() Side {
	if s == A {
		return B
	}
	return A
}
