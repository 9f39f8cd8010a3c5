package sync

// RenewNow makes the running Sync of e renew its flow lease at once, and
// returns when the renewal has run.
func RenewNow(e *Engine) {
	e.renewKick <- struct{}{}
	<-e.renewKick
}
