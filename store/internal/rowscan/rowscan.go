// Package rowscan reads query results the same way for both state
// stores: database/sql's *Rows (SQLite) and pgx's Rows (PostgreSQL)
// share Next, Scan and Err, and every listing is the same loop over them.
package rowscan

import (
	"database/sql"
	"time"
)

// Scanner is one row: database/sql's *Row and *Rows, pgx's Row and Rows.
type Scanner interface {
	Scan(dest ...any) error
}

// Rows is what database/sql's *Rows and pgx's Rows have in common.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// Nullable is how a driver reads a nullable BIGINT: database/sql's
// sql.NullInt64 (which it reads without reflection), pgx's *int64.
type Nullable interface {
	sql.NullInt64 | *int64
}

// Bytes is how a driver reads a value kept byte for byte (field maps,
// conflict values): TEXT in SQLite, bytea in PostgreSQL.
type Bytes interface {
	string | []byte
}

// Time reads a time kept as unix nanoseconds, in UTC; NULL is the zero
// time.
func Time[N Nullable](n N) time.Time {
	switch v := any(n).(type) {
	case sql.NullInt64:
		if v.Valid {
			return time.Unix(0, v.Int64).UTC()
		}
	case *int64:
		if v != nil {
			return time.Unix(0, *v).UTC()
		}
	}
	return time.Time{}
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
