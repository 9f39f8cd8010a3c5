// Package rowscan reads query results the same way for both state
// stores: database/sql's *Rows (SQLite) and pgx's Rows (PostgreSQL)
// share Next, Scan and Err, and every listing is the same loop over them.
package rowscan

// Rows is what database/sql's *Rows and pgx's Rows have in common.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// Collect calls scan once a row and returns the values in row order. The
// first error, of scan or of the rows, ends it; the caller still closes
// rows and adds what was being listed.
func Collect[T any](rows Rows, scan func() (T, error)) ([]T, error) {
	var out []T
	for rows.Next() {
		v, err := scan()
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}
