package adapters

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Tracker is the small interface every adapter implements. Methods are safe
// for concurrent use, take ctx first and return ctx.Err() (possibly wrapped)
// once ctx is done. Errors are classified with the sentinels in errors.go so
// the engine can tell "not there" from "try later" from "give up".
type Tracker interface {
	// Name is the configured tracker name (the key under trackers: in the
	// config), which is also Ref.Tracker of every item it returns.
	Name() string

	// Capabilities describes what this tracker supports.
	Capabilities() Capabilities

	// Get reads one item, comments included when the tracker is a
	// Commenter. It returns an error wrapping ErrNotFound when the item does
	// not exist or was deleted. ref.ID is authoritative; ref.Key is used
	// only when ID is empty.
	Get(ctx context.Context, ref Ref) (Item, error)

	// List returns one page of the items in scope that changed at or after
	// the point req.Cursor stands for ("" means everything in scope). Items
	// come without comments. Reading every page, passing NextPageToken back,
	// visits each changed item exactly once; the last page (NextPageToken
	// "") carries the Cursor to store for the next listing. A cursor is
	// opaque: only the tracker that issued it interprets it. Listing is
	// read-only and idempotent.
	List(ctx context.Context, req ListRequest) (ListPage, error)

	// Create makes a new item from it (Ref.ID, Version and UpdatedAt are
	// ignored) and returns it as stored. opts.IdempotencyKey, when set, is
	// stored on the created item; a second Create with the same key in the
	// same tracker returns the item the first made (with Existed set)
	// instead of making another. This is what makes a create safe to retry
	// after a crash.
	Create(ctx context.Context, it Item, opts CreateOptions) (CreateResult, error)

	// Update writes the fields named in p.Fields, taking their values from
	// p.Item, and returns the item as stored afterwards. Status is written
	// by whatever the tracker requires (a workflow transition, a state and
	// a label). When p.IfVersion is set and the item's current Version
	// differs, nothing is written and the error wraps ErrConflict. A field
	// the tracker does not support is an error wrapping ErrUnsupported.
	// Update is idempotent: writing values the item already has is harmless.
	Update(ctx context.Context, ref Ref, p Patch) (Item, error)
}

// Capabilities describes what a tracker supports, for the engine, mapping
// validation and the conformance suite.
type Capabilities struct {
	// Fields are the syncable field names (FieldTitle, ..., CustomPrefix+name).
	Fields []string
	// Statuses are the native statuses, in workflow order, with categories.
	Statuses []StatusDef
	// Kinds the tracker can create.
	Kinds []Kind
	// MaxPageSize is the largest ListRequest.PageSize honoured (0: no limit).
	MaxPageSize int
	// TimePrecision is the resolution of the tracker's UpdatedAt (GitHub's
	// timestamps are whole seconds); 0 means exact enough to order two
	// edits. The newest-wins policy compares at the coarser precision of
	// the two sides and treats edits it cannot order as a tie.
	TimePrecision time.Duration
	// VersionedComments says an item's Version changes when one of its
	// comments is added or edited (Jira's and GitHub's versions carry the
	// updated stamp, which a comment moves). The engine then knows an item
	// listed at the version it wrote has no new comments either.
	VersionedComments bool
	// LabelMaxLen is the longest label the tracker takes, in characters
	// (0: no limit), and LabelForbidden the characters a label may not
	// hold (Jira's labels take no white space). The mapping leaves out,
	// with a warning, a label of the other side that this one cannot
	// hold, rather than let the tracker refuse the whole write.
	LabelMaxLen    int
	LabelForbidden string
}

// LabelProblem says why the tracker cannot hold label l ("" when it can).
func (c Capabilities) LabelProblem(l string) string {
	if i := strings.IndexAny(l, c.LabelForbidden); c.LabelForbidden != "" && i >= 0 {
		if r, _ := utf8.DecodeRuneInString(l[i:]); unicode.IsSpace(r) {
			return "it holds white space"
		}
		return fmt.Sprintf("it holds %q", l[i:i+1])
	}
	if n := utf8.RuneCountInString(l); c.LabelMaxLen > 0 && n > c.LabelMaxLen {
		return fmt.Sprintf("it is %d characters long, over %d", n, c.LabelMaxLen)
	}
	return ""
}

// StatusDef is one native status and its category.
type StatusDef struct {
	Name     string         `json:"name"`
	Category StatusCategory `json:"category"`
}

// HasField reports whether the tracker supports field name.
func (c Capabilities) HasField(name string) bool {
	for _, f := range c.Fields {
		if f == name {
			return true
		}
	}
	return false
}

// Category returns the category of native status name, and whether it is known.
func (c Capabilities) Category(name string) (StatusCategory, bool) {
	for _, s := range c.Statuses {
		if s.Name == name {
			return s.Category, true
		}
	}
	return "", false
}

// ListRequest asks for one page of changed items.
type ListRequest struct {
	Scope     string // tracker-specific scope query from the flow config
	Cursor    string // from a previous ListPage.Cursor; "" for everything
	PageToken string // from the previous page's NextPageToken; "" for the first
	PageSize  int    // 0: the tracker's default
}

// ListPage is one page of a listing.
type ListPage struct {
	Items []Item
	// Deleted names items in scope deleted since the cursor, for trackers
	// that report deletions (others surface them as ErrNotFound on Get).
	Deleted       []Ref
	NextPageToken string
	// Cursor is set on the last page: store it and pass it next time.
	Cursor string
}

// CreateOptions tune Create.
type CreateOptions struct {
	// IdempotencyKey is stored on the created item (an entity property, a
	// hidden body marker, external data) so a retried Create finds it.
	IdempotencyKey string
	// BackLink is the URL of the item this one is a copy of; trackers that
	// can link out store it (a Jira remote link) so people can click through.
	BackLink string
	// Scope is the flow side's scope (as in ListRequest.Scope); trackers
	// that hold several projects or repositories create the item in the
	// one it names when the item's Ref does not say.
	Scope string
	// KeyUnseen is the caller's word that no item carries IdempotencyKey
	// yet: this is the key's first create attempt (no earlier one was
	// journaled) and the caller's listing of the scope, made for this
	// run, showed none. The tracker may then skip its own lookup of the
	// key before creating (a search per create); after a lost answer it
	// still looks, as the create itself may have landed.
	KeyUnseen bool
}

// CreateResult is what Create made or found.
type CreateResult struct {
	Item Item
	// Existed is true when an item carrying the same idempotency key was
	// already there and nothing new was made.
	Existed bool
}

// Patch names the fields an Update writes and carries their values.
type Patch struct {
	Fields    []string // field names, as in FieldValue
	Item      Item     // the new values of Fields; other fields are ignored
	IfVersion string   // optimistic concurrency: "" writes unconditionally
}

// Commenter is implemented by trackers with comments.
type Commenter interface {
	// Comments lists an item's comments oldest first; ErrNotFound if the
	// item is gone.
	Comments(ctx context.Context, ref Ref) ([]Comment, error)
	// AddComment adds c.Body as a new comment. With a non-empty
	// idempotencyKey, a second call with the same key on the same item
	// returns the first comment instead of adding another, and Comments
	// reports the key as the comment's SyncKey.
	AddComment(ctx context.Context, ref Ref, c Comment, idempotencyKey string) (Comment, error)
	// EditComment replaces the body of comment c.ID.
	EditComment(ctx context.Context, ref Ref, c Comment) (Comment, error)
}

// Deleter is implemented by trackers that can delete items outright.
type Deleter interface {
	// Delete removes the item; deleting a missing item returns ErrNotFound.
	Delete(ctx context.Context, ref Ref) error
}

// WritePacer is implemented by trackers whose writes are limited by
// their configuration (GitHub's content limits, Jira's requests a
// second): how fast they take writes, for estimates such as a
// migration's ETA. The pacing itself is the tracker's.
type WritePacer interface {
	WritePace() WritePace
}

// WritePace is a tracker's configured write rate: PerSecond sustained
// (0: none of that kind), at most Limit writes in any Per of each
// window, and Latency, one write's typical round trip.
type WritePace struct {
	PerSecond float64
	Windows   []RateWindow
	Latency   time.Duration
}

// RateWindow is at most Limit writes in any Per.
type RateWindow struct {
	Limit int
	Per   time.Duration
}

// Archiver is implemented by trackers that can close or archive an item
// without deleting it (used by on_delete: close).
type Archiver interface {
	// Archive closes the item (a done-category status, an archived flag).
	// Archiving an archived item is harmless.
	Archive(ctx context.Context, ref Ref) (Item, error)
}

// BulkCreator is implemented by trackers with a batch create endpoint.
// Results are in the order of reqs; each create keeps its idempotency key.
// On an error, a result whose Item.Ref.ID is empty (or that is missing:
// the results may stop short) was not made; a *CreateErrors error says
// which requests failed and why, any other error concerns every request
// not made.
type BulkCreator interface {
	CreateMany(ctx context.Context, reqs []CreateRequest) ([]CreateResult, error)
}

// CreateErrors are the failed requests of a CreateMany, by index.
type CreateErrors map[int]error

func (e CreateErrors) Error() string {
	idx := make([]int, 0, len(e))
	for i := range e {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	msgs := make([]string, 0, len(e))
	for _, i := range idx {
		msgs = append(msgs, fmt.Sprintf("request %d: %v", i, e[i]))
	}
	return fmt.Sprintf("%d of the creates failed: %s", len(e), strings.Join(msgs, "; "))
}

// Unwrap lets errors.Is and errors.As see each failure.
func (e CreateErrors) Unwrap() []error {
	out := make([]error, 0, len(e))
	for _, err := range e {
		out = append(out, err)
	}
	return out
}

// CreateRequest is one create in a batch.
type CreateRequest struct {
	Item    Item
	Options CreateOptions
}

// WriteNoter is implemented by trackers whose cursor can take note of
// the caller's own writes made after the listing that issued it, so the
// next listing does not fetch them again (they are changes since the
// cursor, but none the caller needs to see). items are as the writes read
// them back; an item edited since has another version and is listed. The
// returned cursor replaces cursor.
type WriteNoter interface {
	NoteWrites(cursor string, items []Item) (string, error)
}

// Checker is implemented by trackers that can check their own health
// (credentials, permissions, the project exists) for doctor and /readyz.
type Checker interface {
	Check(ctx context.Context) error
}

// WebhookDecoder is implemented by trackers that receive webhooks. It
// verifies the signature before parsing anything (ErrUnauthorized when it
// does not match) and returns the changes the delivery names.
type WebhookDecoder interface {
	DecodeWebhook(h http.Header, body []byte) ([]Event, error)
}

// DeliveryReleaser is implemented by WebhookDecoders that remember the
// deliveries they decoded (so that a redelivery decodes to nothing). The
// receiver calls ReleaseDelivery with an Event's DeliveryID when it could
// not act on the delivery (its sync was not enqueued, and it answered
// the tracker with an error): the tracker's retry of that delivery must
// then decode to its events again.
type DeliveryReleaser interface {
	ReleaseDelivery(id string)
}

// HandshakeResponder is implemented by trackers whose webhooks open with a
// handshake the receiver must answer (Asana's X-Hook-Secret). The daemon
// calls it before DecodeWebhook for every request to the tracker's webhook
// path: when handled is true the request was a handshake, nothing is
// decoded, and the receiver answers 200 with the returned header. The
// tracker keeps what the handshake carried (a secret) durably, through
// the KV it was given (KVUser), so that a restart still verifies
// deliveries. A handshake the tracker does not expect is an error
// wrapping ErrUnauthorized.
type HandshakeResponder interface {
	Handshake(ctx context.Context, h http.Header) (answer http.Header, handled bool, err error)
}

// WebhookRegistrar is implemented by trackers that can register their own
// webhooks. EnsureWebhooks makes sure the tracker's scope delivers to
// target (the daemon's /webhooks/<tracker name> URL), creating what is
// missing; it is idempotent. A tracker with a handshake accepts one only
// while it is registering, so nobody else can plant a secret.
type WebhookRegistrar interface {
	EnsureWebhooks(ctx context.Context, target string) error
}

// KV is a small durable key-value space of one tracker, kept in the state
// store (webhook secrets, ETags). Get reports whether key was there.
type KV interface {
	Get(ctx context.Context, key string) (string, bool, error)
	Put(ctx context.Context, key, value string) error
}

// KVUser is implemented by trackers that keep state in a KV; whoever opens
// the tracker (the daemon, with the store's per-tracker space) hands it
// one before the first call.
type KVUser interface {
	SetKV(KV)
}

// EventType says what happened to an item.
type EventType string

// The event types a webhook decodes into.
const (
	EventUpserted EventType = "upserted"
	EventDeleted  EventType = "deleted"
	EventComment  EventType = "comment"
)

// Event is one change a webhook announced. The engine re-reads the item:
// an event only says which item to look at.
type Event struct {
	Type       EventType
	Ref        Ref
	DeliveryID string // for de-duplicating redeliveries
	At         time.Time
}
