package config

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// TestExampleDocumentsEveryKey: every key the decoder accepts appears in
// config.example.yaml, as a key or as a commented-out one. Adding a key
// to the decoder without documenting it fails here. (Adapter options
// are checked per tracker kind by cmd/tracksync's TestExampleDocumentsAdapterOptions.)
func TestExampleDocumentsEveryKey(t *testing.T) {
	body, err := os.ReadFile(filepath.Join("..", "config.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	lists := map[string][]string{
		"top": topKeys, "state": stateKeys, "server": serverKeys, "log": logKeys, "flows[]": flowKeys, "flows[].a": sideKeys,
		"flows[].fields.<f>": fieldKeys, "map[]": pairKeys, "initiatives": initiativesKeys, "initiatives.children[]": childKeys,
		"children[].create": createKeys, "initiatives.rollup": rollupKeys, "rollup.at_risk": atRiskKeys, "rollup.write_back": writeBackKeys,
	}
	for section, keys := range lists {
		for _, k := range keys {
			re := regexp.MustCompile(`(?m)(^|[\s{,#-])` + regexp.QuoteMeta(k) + `:`)
			if !re.Match(body) {
				t.Errorf("%s key %q is accepted by the decoder but config.example.yaml does not document it", section, k)
			}
		}
	}
}
