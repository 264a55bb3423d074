package xmlstream

// A fixed, read-only table of names and namespaces common in XMPP traffic.
// Parsed names found here share one string for the life of the process
// instead of pointing into the stanza they came from, so long-lived data
// (rosters, caches, routing tables) does not pin whole stanzas, and
// comparisons against constants hit the pointer-equality fast path. The
// table is built once at init and never written after, so parsers on many
// goroutines read it without locks; unknown names are not added (a peer
// must not be able to grow it).

const (
	internBits = 10
	internMask = 1<<internBits - 1
)

var internTab [1 << internBits]string

var internWords = [...]string{
	// stream level and stanzas
	"stream", "features", "error", "text", "message", "presence", "iq",
	"body", "subject", "thread", "show", "status", "priority", "query", "item",
	"x", "c", "r", "a", "delay", "forwarded", "result", "fin", "set", "first",
	"last", "count", "max", "before", "after", "index",
	// SASL, TLS, bind, session, stream management, CSI
	"starttls", "required", "proceed", "failure", "auth", "mechanisms",
	"mechanism", "challenge", "response", "success", "abort", "bind",
	"resource", "jid", "session", "optional", "sm", "enable", "enabled",
	"resume", "resumed", "failed", "active", "inactive", "register", "ver",
	// chat states, receipts, markers, hints, ids, carbons, MAM
	"composing", "paused", "gone", "request", "received", "markable",
	"displayed", "acknowledged", "no-store", "no-copy", "no-permanent-store",
	"store", "stanza-id", "origin-id", "sent", "private", "fin", "ping",
	"field", "value", "option", "reason", "invite", "password", "history",
	"group", "vCard", "storage", "list", "block", "unblock", "identity",
	"feature", "headers", "header", "html", "encryption", "encrypted",
	"blocklist", "user", "affiliation", "affiliations", "configuration",
	// attributes
	"to", "from", "type", "id", "lang", "xmlns", "version", "by", "node",
	"hash", "name", "subscription", "ask", "h", "location", "max", "stamp",
	"var", "label", "category", "jid", "role", "nick", "code", "xml",
	// stanza error conditions
	"bad-request", "conflict", "feature-not-implemented", "forbidden",
	"item-not-found", "not-acceptable", "not-allowed", "not-authorized",
	"recipient-unavailable", "remote-server-not-found", "service-unavailable",
	"unexpected-request", "internal-server-error", "policy-violation",
	"resource-constraint",
	// namespaces
	XMLNamespace, StreamsNamespace, StreamErrorsNamespace, ClientNamespace,
	ServerNamespace,
	"urn:ietf:params:xml:ns:xmpp-tls",
	"urn:ietf:params:xml:ns:xmpp-sasl",
	"urn:ietf:params:xml:ns:xmpp-bind",
	"urn:ietf:params:xml:ns:xmpp-session",
	"urn:ietf:params:xml:ns:xmpp-stanzas",
	"urn:ietf:params:xml:ns:xmpp-framing",
	"jabber:iq:roster", "jabber:iq:private", "jabber:iq:register",
	"jabber:iq:version", "jabber:iq:last", "jabber:iq:privacy", "jabber:x:data",
	"jabber:x:conference", "vcard-temp", "vcard-temp:x:update",
	"http://jabber.org/protocol/chatstates",
	"http://jabber.org/protocol/disco#info",
	"http://jabber.org/protocol/disco#items",
	"http://jabber.org/protocol/caps",
	"http://jabber.org/protocol/muc",
	"http://jabber.org/protocol/muc#user",
	"http://jabber.org/protocol/muc#admin",
	"http://jabber.org/protocol/muc#owner",
	"http://jabber.org/protocol/rsm",
	"http://jabber.org/protocol/pubsub",
	"http://jabber.org/protocol/pubsub#event",
	"http://jabber.org/protocol/address",
	"http://jabber.org/features/iq-register",
	"urn:xmpp:sm:3", "urn:xmpp:mam:2", "urn:xmpp:mam:1", "urn:xmpp:sid:0",
	"urn:xmpp:delay", "urn:xmpp:forward:0", "urn:xmpp:carbons:2",
	"urn:xmpp:receipts", "urn:xmpp:chat-markers:0", "urn:xmpp:hints",
	"urn:xmpp:ping", "urn:xmpp:csi:0", "urn:xmpp:blocking",
	"urn:xmpp:blocking:errors", "urn:xmpp:time", "urn:xmpp:message-correct:0",
	"urn:xmpp:bookmarks:1", "urn:xmpp:muclight:0#affiliations",
	"urn:xmpp:muclight:0#configuration", "urn:xmpp:muclight:0#info",
	"urn:xmpp:muclight:0#create", "urn:xmpp:muclight:0#destroy",
	"urn:xmpp:muclight:0#blocking", "urn:xmpp:push:0", "urn:xmpp:http:upload:0",
	"urn:xmpp:bind:0", "urn:xmpp:sasl:2", "urn:xmpp:eme:0",
	"eu.siacs.conversations.axolotl", "urn:xmpp:omemo:2",
}

func init() {
	for _, w := range internWords {
		if _, ok := lookupIntern([]byte(w)); ok {
			continue
		}
		h := internHash([]byte(w))
		for internTab[h] != "" {
			h = (h + 1) & internMask
		}
		internTab[h] = w
	}
}

func internHash(b []byte) uint32 {
	n := len(b)
	h := uint32(n)*0x9E3779B1 ^ uint32(b[0])<<16 ^ uint32(b[n-1])<<8 ^ uint32(b[n/2]) ^ uint32(b[n*3/4])<<24
	h *= 0x85EBCA6B
	return h >> (32 - internBits)
}

// lookupIntern returns the table's copy of b, if it has one.
func lookupIntern(b []byte) (string, bool) {
	if len(b) == 0 {
		return "", true
	}
	for h := internHash(b); ; h = (h + 1) & internMask {
		s := internTab[h]
		if s == "" {
			return "", false
		}
		if s == string(b) {
			return s, true
		}
	}
}
