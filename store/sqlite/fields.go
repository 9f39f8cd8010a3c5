package sqlite

import "github.com/tracksync/tracksync/store/internal/fieldmap"

// The field-map encoding is shared with the other drivers (store copy
// compares them byte for byte).
var (
	encodeFields    = fieldmap.Encode
	decodeFieldsBuf = fieldmap.DecodeBuf
)
