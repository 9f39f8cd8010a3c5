package notify

import "github.com/tracksync/tracksync/adapters"

func isPermanent(err error) bool { return adapters.IsPermanent(err) }
