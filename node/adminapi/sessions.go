package adminapi

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"slices"
	"strings"

	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/router"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// Sessions is what the session and stanza endpoints need from the XMPP layer;
// *router.Router implements it.
type Sessions interface {
	SessionsOfDomain(domain string) []router.Session
	Sessions(domain, user string) []router.Session
	Deliver(el *xmlstream.Element) error
}

// Accounts answers whether an account exists (POST /stanzas checks the sender).
type Accounts interface {
	UserExists(domain, user string) bool
}

// kickReason is what a kicked client reads in its <conflict/> stream error
// (MongooseIM's kick_session reason from the REST API).
const kickReason = "kicked"

func (a *api) sessionRoutes(route func(string, func(http.ResponseWriter, *http.Request) error)) {
	route("GET /sessions/{domain}", a.listSessions)
	route("GET /sessions/{domain}/{username}", a.listSessions)
	route("GET /sessions/{domain}/{username}/{resource}", a.listSessions)
	route("DELETE /sessions/{domain}", a.kickSessions)
	route("DELETE /sessions/{domain}/{username}", a.kickSessions)
	route("DELETE /sessions/{domain}/{username}/{resource}", a.kickSessions)
	route("POST /stanzas", a.postStanza)
}

// matching returns the sessions under the path's domain, user and resource.
func (a *api) matching(r *http.Request) ([]router.Session, error) {
	domain, err := domainName(r)
	if err != nil {
		return nil, err
	}
	user, res := r.PathValue("username"), r.PathValue("resource")
	if user == "" {
		return a.cfg.Sessions.SessionsOfDomain(domain), nil
	}
	if user, err = jid.NormalizeLocal(user); err != nil {
		return nil, errorf(http.StatusBadRequest, "Invalid jid")
	}
	ss := a.cfg.Sessions.Sessions(domain, user)
	if res == "" {
		return ss, nil
	}
	out := ss[:0:0]
	for _, s := range ss {
		if s.JID().Resource() == res {
			out = append(out, s)
		}
	}
	return out, nil
}

// listSessions answers MongooseIM's list of full JIDs, sorted.
func (a *api) listSessions(w http.ResponseWriter, r *http.Request) error {
	ss, err := a.matching(r)
	if err != nil {
		return err
	}
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.JID().String()
	}
	slices.Sort(out)
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *api) kickSessions(w http.ResponseWriter, r *http.Request) error {
	if r.PathValue("username") == "" {
		return errorf(http.StatusBadRequest, "Missing user name")
	}
	ss, err := a.matching(r)
	if err != nil {
		return err
	}
	if len(ss) == 0 {
		return errorf(http.StatusNotFound, "No active session")
	}
	for _, s := range ss {
		s.Stop("conflict", kickReason)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// postStanza follows mongoose_stanza_api:send_stanza: the stanza is routed as if its
// 'from' user had sent it.
func (a *api) postStanza(w http.ResponseWriter, r *http.Request) error {
	body, err := parseBody(r)
	if err != nil {
		return err
	}
	raw, err := field[string](body, "stanza", "Missing stanza")
	if err != nil {
		return err
	}
	el, err := parseStanza(raw)
	if err != nil {
		return errorf(http.StatusBadRequest, "Malformed stanza")
	}
	var from jid.JID
	if s := el.Attr("from"); s != "" {
		if from, err = jid.Parse(s); err != nil {
			return errorf(http.StatusBadRequest, "Invalid sender JID")
		}
	}
	to := el.Attr("to")
	if to == "" {
		return errorf(http.StatusBadRequest, "Missing recipient JID")
	}
	if _, err := jid.Parse(to); err != nil {
		return errorf(http.StatusBadRequest, "Invalid recipient JID")
	}
	if from.IsZero() {
		return errorf(http.StatusBadRequest, "Missing sender JID")
	}
	if _, ok := a.b.Directory().HostTypeOf(from.Domain()); !ok {
		return errorf(http.StatusBadRequest, "User's domain does not exist")
	}
	if a.cfg.Accounts != nil && !a.cfg.Accounts.UserExists(from.Domain(), from.Local()) {
		return errorf(http.StatusBadRequest, "User does not exist")
	}
	if el.Attr("id") == "" {
		el.SetAttr("id", randomID())
	}
	if err := a.cfg.Sessions.Deliver(el); err != nil {
		return errorf(http.StatusBadRequest, "%s", err.Error())
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// parseStanza reads one element with the server's own tokenizer, in a jabber:client
// stream so that an unprefixed stanza lands in the client namespace.
func parseStanza(raw string) (*xmlstream.Element, error) {
	const open = `<stream:stream xmlns="jabber:client" xmlns:stream="http://etherx.jabber.org/streams">`
	p := xmlstream.NewParser(bufio.NewReader(strings.NewReader(open+raw)), xmlstream.Limits{MaxStanzaSize: MaxBodyBytes})
	if _, err := p.ReadHeader(); err != nil {
		return nil, err
	}
	el, err := p.Next()
	if err != nil {
		return nil, err
	}
	switch el.Local {
	case "message", "presence", "iq":
		return el, nil
	}
	return nil, errorf(http.StatusBadRequest, "Malformed stanza")
}

func randomID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
