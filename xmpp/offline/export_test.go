package offline

import "github.com/mongoose-go/mongoose-go/xmpp/jid"

// OwnerOf exposes ownerOf to the tests.
func OwnerOf(self string, peers []string, user jid.JID) string { return ownerOf(self, peers, user) }

// SetAfterRead sets the hook run between reading a queue and delivering it, until
// the returned function resets it. Tests using it must not run in parallel.
func SetAfterRead(f func(jid.JID)) (reset func()) {
	afterRead = f
	return func() { afterRead = nil }
}
