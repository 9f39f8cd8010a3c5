package asana_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/asana/asanatest"
)

// TestTwoWritersOneKey: a server's tracker has indexed the project's keys;
// a laptop (another state file, another process) then makes the task for
// a key. The server's create for the same key finds the laptop's task in
// Asana instead of making a second.
func TestTwoWritersOneKey(t *testing.T) {
	for _, bulk := range []bool{false, true} {
		t.Run(fmt.Sprint("bulk=", bulk), func(t *testing.T) {
			e := newEnv(t, asanatest.Options{})
			server, laptop := e.tracker(t, nil), e.tracker(t, nil)
			if _, err := server.List(t.Context(), adapters.ListRequest{Scope: e.project}); err != nil {
				t.Fatal(err)
			}
			if _, err := server.Create(t.Context(), sample(1), adapters.CreateOptions{Scope: e.project, IdempotencyKey: "f/a/PLAT-1"}); err != nil {
				t.Fatal(err)
			}
			e.s.Advance(time.Minute)
			opts := adapters.CreateOptions{Scope: e.project, IdempotencyKey: "f/a/PLAT-2"}
			made, err := laptop.Create(t.Context(), sample(2), opts)
			if err != nil {
				t.Fatal(err)
			}
			e.s.Advance(time.Minute)
			var res adapters.CreateResult
			if bulk {
				var rs []adapters.CreateResult
				if rs, err = server.CreateMany(t.Context(), []adapters.CreateRequest{{Item: sample(2), Options: opts}}); err == nil {
					res = rs[0]
				}
			} else {
				res, err = server.Create(t.Context(), sample(2), opts)
			}
			if err != nil {
				t.Fatal(err)
			}
			if n := len(e.s.Tasks(e.project)); n != 2 || !res.Existed || res.Item.Ref.ID != made.Item.Ref.ID {
				t.Errorf("%d tasks; the server's create: Existed=%v %s, want the laptop's %s", n, res.Existed, res.Item.Ref.ID, made.Item.Ref.ID)
			}
		})
	}
}
