package mam

import (
	"context"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mongoose-go/mongoose-go/store"
	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/module"
	"github.com/mongoose-go/mongoose-go/xmpp/stanza"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// The admin API's /messages (MongooseIM's mongoose_admin_api_messages).

// Errors of Send, as MongooseIM's mongoose_stanza_helper:route.
var (
	ErrUnknownDomain = errors.New("Unknown domain")
	ErrUnknownUser   = errors.New("Unknown user")
)

// Send sends a chat message as from to to, as if from's client had sent it: the
// sender's copy is archived (when its host type archives) before the message is
// routed, and the recipient's copy as it is delivered. It returns once both are
// committed.
func (s *Service) Send(ctx context.Context, from, to jid.JID, body string) error {
	dir, acc := s.host.Directory(), s.host.Accounts()
	for _, j := range []jid.JID{from, to} {
		if _, ok := dir.HostTypeOf(j.Domain()); !ok {
			return ErrUnknownDomain
		}
	}
	if from.Local() == "" || !acc.UserExists(from.Domain(), from.Local()) {
		return ErrUnknownUser
	}
	el := xmlstream.NewElement(stanza.NSClient, "message",
		xmlstream.Attr{Local: "from", Value: from.String()}, xmlstream.Attr{Local: "to", Value: to.String()},
		xmlstream.Attr{Local: "type", Value: "chat"})
	b := xmlstream.NewElement(stanza.NSClient, "body")
	b.AddText(body)
	el.AddChild(b)
	if m, err := s.modFor(from.Domain()); err == nil && to.Local() != "" && to.Bare() != from.Bare() &&
		m.wants(from.Bare(), to.Bare()) {
		if _, err := m.archive(from.Bare(), to.Bare(), el); err != nil {
			return err
		}
	}
	return s.host.Router().Deliver(el)
}

// Archive archives el in owner's archive as exchanged with with, through the
// batching queue, and returns its id once committed. It is the write path of the
// hooks, exposed for benchmarks and tools.
func (s *Service) Archive(ctx context.Context, owner, with jid.JID, el *xmlstream.Element) (uint64, error) {
	m, err := s.modFor(owner.Domain())
	if err != nil {
		return 0, err
	}
	return m.archive(owner.Bare(), with.Bare(), el)
}

// Recent is one message of Lookup.
type Recent struct {
	ID     uint64
	With   string
	Stored *xmlstream.Element
}

// Lookup returns up to limit of the most recent messages of owner's archive
// (with one bare JID when with is not zero) sent before before (zero: now), oldest
// first.
func (s *Service) Lookup(owner, with jid.JID, before time.Time, limit int) ([]Recent, error) {
	if _, err := s.modFor(owner.Domain()); err != nil {
		return nil, err
	}
	q := store.ArchiveQuery{Domain: owner.Domain(), User: owner.Local(), Last: true, Max: limit}
	if !with.IsZero() {
		q.With = with.Bare().String()
	}
	if !before.IsZero() {
		if q.To = IDFromTime(before); q.To == 0 {
			return nil, nil
		}
		q.To--
	}
	var page store.ArchivePage
	err := s.host.Store().View(func(tx *bolt.Tx) error {
		var err error
		page, err = store.QueryArchive(tx, q)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("mam: lookup: %w", err)
	}
	out := make([]Recent, 0, len(page.Messages))
	for _, am := range page.Messages {
		el, err := module.ParseStanza([]byte(am.XML))
		if err != nil {
			continue
		}
		out = append(out, Recent{ID: am.ID, With: am.With, Stored: el})
	}
	return out, nil
}
