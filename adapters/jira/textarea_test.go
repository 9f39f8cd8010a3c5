package jira_test

import (
	"testing"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/jira"
	"github.com/tracksync/tracksync/adapters/jira/jiratest"
)

// notesText is a multi-line Reviewer Notes value with some Markdown, the
// way a description carries it.
const notesText = "Checked the *migration*.\n\nStill open:\n\n- rollback\n- docs"

// storedLikeBody says whether the fake holds issue id's Reviewer Notes
// exactly as it holds its description: a multi-line text field takes what
// a description takes (an Atlassian Document on Cloud, wiki markup on Data
// Center), so the same text must be written the same way.
func storedLikeBody(t *testing.T, fake *jiratest.Server, id string) {
	t.Helper()
	is, _ := fake.Issue(id)
	raw := is.Custom[jiratest.ReviewerNotesField]
	if len(raw) == 0 || string(raw) != string(is.Description) {
		t.Errorf("issue %s holds Reviewer Notes as %s, its description (the same text) as %s", id, raw, is.Description)
	}
}

// TestTextareaField: a multi-line text custom field is written as a
// description is (an Atlassian Document on Cloud, wiki markup on Data
// Center) and reads back as the same text, on create and on update; a
// single-line one stays a string.
func TestTextareaField(t *testing.T) {
	for _, flavor := range flavors {
		t.Run(string(flavor), func(t *testing.T) {
			fake, tr := newPair(t, flavor, func(o *jira.Options) {
				o.CustomFields = []string{"Team", "Reviewer Notes"}
			})
			ctx := t.Context()
			it := mustCreate(t, tr, adapters.Item{Title: "with notes", Body: notesText,
				Fields: map[string]string{"Team": "Core", "Reviewer Notes": notesText}}, "")
			storedLikeBody(t, fake, it.Ref.ID)
			got, err := tr.Get(ctx, it.Ref)
			if err != nil {
				t.Fatal(err)
			}
			if got.Fields["Reviewer Notes"] != got.Body {
				t.Errorf("Reviewer Notes read back as %q, the same text as a description reads %q", got.Fields["Reviewer Notes"], got.Body)
			}
			if got.Fields["Reviewer Notes"] != notesText || got.Fields["Team"] != "Core" {
				t.Errorf("fields read back %q", got.Fields)
			}

			const edited = "Rolled back.\n\nDocs **done**."
			up, err := tr.Update(ctx, it.Ref, adapters.Patch{Fields: []string{adapters.FieldBody, adapters.CustomPrefix + "Reviewer Notes", adapters.CustomPrefix + "Team"},
				Item: adapters.Item{Body: edited, Fields: map[string]string{"Reviewer Notes": edited, "Team": "Platform"}}})
			if err != nil {
				t.Fatal(err)
			}
			storedLikeBody(t, fake, it.Ref.ID)
			if got, err = tr.Get(ctx, it.Ref); err != nil {
				t.Fatal(err)
			}
			if got.Fields["Reviewer Notes"] != edited || got.Fields["Team"] != "Platform" || up.Fields["Reviewer Notes"] != edited {
				t.Errorf("after the update: Get %q, Update returned %q", got.Fields, up.Fields)
			}

			if _, err := tr.Update(ctx, it.Ref, adapters.Patch{Fields: []string{adapters.CustomPrefix + "Reviewer Notes"}, Item: adapters.Item{}}); err != nil {
				t.Fatalf("clearing: %v", err)
			}
			if got, _ = tr.Get(ctx, it.Ref); got.Fields["Reviewer Notes"] != "" {
				t.Errorf("cleared notes read back %q", got.Fields["Reviewer Notes"])
			}
		})
	}
}

// screenNotes is the configured default for a required Reviewer Notes.
const screenNotes = "Closed by **tracksync**."

// TestRequiredScreenTextarea: a transition screen requiring a multi-line
// text field gets its default as the field wants it on each flavour.
func TestRequiredScreenTextarea(t *testing.T) {
	for _, flavor := range flavors {
		t.Run(string(flavor), func(t *testing.T) {
			fake, tr := newPair(t, flavor, func(o *jira.Options) {
				o.TransitionDefaults = map[string]string{"resolution": "Won't Do", "Reviewer Notes": screenNotes}
				o.CustomFields = []string{"Reviewer Notes"}
			})
			fake.SetRequired("Done", "resolution", jiratest.ReviewerNotesField)
			it := mustCreate(t, tr, adapters.Item{Title: "moves to done", Body: screenNotes}, "")
			if _, err := tr.Update(t.Context(), it.Ref, adapters.Patch{Fields: []string{adapters.FieldStatus}, Item: adapters.Item{Status: "Done"}}); err != nil {
				t.Fatal(err)
			}
			storedLikeBody(t, fake, it.Ref.ID)
			got, err := tr.Get(t.Context(), it.Ref)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != "Done" || got.Fields["Reviewer Notes"] != screenNotes {
				t.Errorf("status %q, notes %q", got.Status, got.Fields["Reviewer Notes"])
			}
		})
	}
}
