package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
)

// Options tune a store opened through Open. The zero value is the
// production setting; each driver documents what it makes of each field.
type Options struct {
	// BusyTimeout bounds the wait for a lock another connection or
	// process holds; 0 means the driver's default. Tests set it short.
	BusyTimeout time.Duration
	// Clock stamps created, updated and finished times and decides lease
	// and delivery-id expiry; nil means time.Now. Tests inject a fake one.
	// (A server database may keep its own clock for leases; see the
	// driver.)
	Clock func() time.Time
	// Logger receives the driver's own log lines; nil discards them.
	Logger *slog.Logger
}

// OpenFunc opens a store of one driver at dsn.
type OpenFunc func(ctx context.Context, dsn string, opts Options) (Store, error)

// ErrUnknownDriver: Open was given a driver name nothing registered.
var ErrUnknownDriver = errors.New("unknown state store driver")

// UnknownDriverError names the driver asked for and the ones this binary
// has, so the message can tell the user what to write instead.
type UnknownDriverError struct {
	Driver string
	Known  []string
}

func (e *UnknownDriverError) Error() string {
	known := "none"
	if len(e.Known) > 0 {
		known = strings.Join(e.Known, ", ")
	}
	return fmt.Sprintf("state store driver %q is not available in this build (known: %s)", e.Driver, known)
}

func (e *UnknownDriverError) Unwrap() error { return ErrUnknownDriver }

var (
	driversMu sync.RWMutex
	drivers   = map[string]OpenFunc{}
)

// Register makes a store driver available by name, like
// database/sql.Register: a driver package calls it from init, and a
// program links the drivers it wants with a blank import. It panics when
// open is nil or the name is empty or taken: both are programming errors.
func Register(driver string, open OpenFunc) {
	if driver == "" || open == nil {
		panic("store: Register needs a driver name and an open function")
	}
	driversMu.Lock()
	defer driversMu.Unlock()
	if _, dup := drivers[driver]; dup {
		panic("store: Register called twice for driver " + driver)
	}
	drivers[driver] = open
}

// Drivers returns the names of the registered drivers, sorted.
func Drivers() []string {
	driversMu.RLock()
	defer driversMu.RUnlock()
	out := make([]string, 0, len(drivers))
	for name := range drivers {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// Open opens a store with the named driver. An unregistered driver fails
// with an *UnknownDriverError (wrapping ErrUnknownDriver) naming the
// registered ones.
func Open(ctx context.Context, driver, dsn string, opts Options) (Store, error) {
	driversMu.RLock()
	open, ok := drivers[driver]
	driversMu.RUnlock()
	if !ok {
		return nil, &UnknownDriverError{Driver: driver, Known: Drivers()}
	}
	return open(ctx, dsn, opts)
}

// SQLDBer is implemented by a store built on database/sql that lets a job
// queue share its pool (River on riversqlite, today). It is a narrow
// escape hatch for the daemon until jobs sit behind their own interface;
// nothing else should write through the pool it returns.
type SQLDBer interface {
	DB() *sql.DB
}

// Describer is implemented by stores that can name where they keep their
// state (a file path, a database with the password left out) for messages.
type Describer interface {
	Describe() string
}
