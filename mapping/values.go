package mapping

import (
	"slices"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/internal/sides"
)

// SideField returns the adapters field name that field has on side s: the
// same name, except for a custom field whose display name differs per side
// (fields: {"custom:Story Points": {a: Story Points, b: Estimate}}).
func (f *Flow) SideField(field string, s sides.Side) string {
	if names, ok := f.custom[field]; ok {
		return adapters.CustomPrefix + names[side(s)]
	}
	return field
}

// Value returns item it's value of field as this flow sees it on side s:
// adapters.FieldValue, except that a status paired with a status label in
// the status map reads as "status [label]" when the item carries the label,
// labels leave out status labels, and custom fields use the side's name.
// Store these values in base snapshots and pass them to Translate.
func (f *Flow) Value(s sides.Side, it adapters.Item, field string) string {
	i := side(s)
	switch field {
	case adapters.FieldStatus:
		for _, p := range f.status.pairs {
			if p.label[i] != "" && p.plain[i] == it.Status && slices.Contains(it.Labels, p.label[i]) {
				return p.v[i]
			}
		}
		return it.Status
	case adapters.FieldLabels:
		if len(f.status.statusLabels[i]) == 0 {
			break
		}
		var l []string
		for _, x := range it.Labels {
			if !slices.Contains(f.status.statusLabels[i], x) {
				l = append(l, x)
			}
		}
		return adapters.EncodeList(l)
	}
	return adapters.FieldValue(it, f.SideField(field, s))
}

// Apply stores value v of field (as Value returns it) into it on side s:
// a composite status sets the status and swaps the item's status labels for
// its own; labels keep the item's status labels. Start from the item as
// read, so the fields a patch writes alongside (PatchFields) stay right.
func (f *Flow) Apply(s sides.Side, it *adapters.Item, field, v string) error {
	i := side(s)
	switch field {
	case adapters.FieldStatus:
		if len(f.status.statusLabels[i]) == 0 {
			break
		}
		status, label := v, ""
		for _, p := range f.status.pairs {
			if p.v[i] == v {
				status, label = p.plain[i], p.label[i]
				break
			}
		}
		it.Status = status
		labels := make([]string, 0, len(it.Labels)+1)
		for _, x := range it.Labels {
			if !slices.Contains(f.status.statusLabels[i], x) {
				labels = append(labels, x)
			}
		}
		if label != "" {
			labels = append(labels, label)
		}
		it.Labels = adapters.NormalizeList(labels)
		return nil
	case adapters.FieldLabels:
		if len(f.status.statusLabels[i]) == 0 {
			break
		}
		l, err := adapters.DecodeList(v)
		if err != nil {
			return err
		}
		for _, x := range it.Labels {
			if slices.Contains(f.status.statusLabels[i], x) {
				l = append(l, x)
			}
		}
		it.Labels = adapters.NormalizeList(l)
		return nil
	}
	return adapters.SetFieldValue(it, f.SideField(field, s), v)
}

// PatchFields lists the adapters field names a Patch must name to write
// field on side s: a status with status labels also writes labels.
func (f *Flow) PatchFields(field string, s sides.Side) []string {
	if field == adapters.FieldStatus && len(f.status.statusLabels[side(s)]) > 0 {
		return []string{adapters.FieldStatus, adapters.FieldLabels}
	}
	return []string{f.SideField(field, s)}
}
