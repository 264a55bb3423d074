package c2s

import (
	"strings"
	"time"

	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/module"
	"github.com/mongoose-go/mongoose-go/xmpp/stanza"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// Namespaces of stream negotiation.
const (
	nsTLS       = "urn:ietf:params:xml:ns:xmpp-tls"
	nsSASL      = "urn:ietf:params:xml:ns:xmpp-sasl"
	nsSASLCB    = "urn:xmpp:sasl-cb:0" // XEP-0440
	nsBind      = stanza.NSBind
	nsSession   = stanza.NSSession
	nsClient    = xmlstream.ClientNamespace
	serverLang  = "en"
	streamsVers = "1.0"
)

// stream runs one stream on the connection: it reads the client's header,
// answers with a header and the features in one write, and handles elements
// until the stream ends (an error) or restarts (errRestart).
func (c *conn) stream() error {
	c.mu.Lock()
	c.headerSent = false
	c.mu.Unlock()
	c.setDeadline(time.Now().Add(c.l.cfg.StateTimeout))
	h, err := c.p.ReadHeader()
	if err != nil {
		return err
	}
	if err := c.checkHeader(h); err != nil {
		return err
	}
	if c.user == "" {
		c.mechs = c.offeredMechanisms()
	}
	b := getBuf()
	c.mu.Lock()
	*b = c.appendHeaderLocked(*b, clientAddr(h))
	c.headerSent = true
	c.mu.Unlock()
	*b = c.appendFeatures(*b)
	if err := c.writeNow(b); err != nil {
		return err
	}
	for {
		if !c.bound {
			c.setDeadline(time.Now().Add(c.l.cfg.StateTimeout))
		}
		el, err := c.p.Next()
		if err != nil {
			return err
		}
		switch {
		case c.bound:
			err = c.handleStanza(el)
			if err == nil && c.keeper != nil && isStanza(el) {
				// Only now, with the user-send chain (archiving included) done
				// and the stanza routed, does it count as handled (XEP-0198 h).
				c.keeper.StanzaHandled(c)
			}
		case c.user != "":
			err = c.handlePreBind(el)
		default:
			err = c.handlePreAuth(el)
		}
		if err != nil {
			return err
		}
	}
}

// checkHeader validates the client's stream header (RFC 6120 section 4.7) and
// resolves its domain. The domain is looked up on every stream, so a domain
// disabled since the last one is refused.
func (c *conn) checkHeader(h *xmlstream.StreamHeader) error {
	domain, derr := jid.NormalizeDomain(h.Attr("to"))
	hostType, known := "", false
	if derr == nil {
		hostType, known = c.l.cfg.Directory.HostTypeOf(domain)
	}
	if known && (c.user == "" || domain == c.domain) {
		// From here on error headers carry the client's domain.
		c.mu.Lock()
		c.domain = domain
		c.mu.Unlock()
		c.hostType = hostType
		m := c.l.cfg.Metrics
		c.stanzasIn, c.stanzasOut = m.ElementsIn.For(hostType), m.ElementsOut.For(hostType)
	}
	if !versionOK(h.Attr("version")) {
		return streamErr(UnsupportedVersion, "version 1.0 required")
	}
	if h.DefaultNS != nsClient {
		return streamErr(xmlstream.InvalidNamespace, "the content namespace must be jabber:client")
	}
	switch {
	case h.Attr("to") == "":
		return streamErr(HostUnknown, "the stream header has no to address")
	case !known:
		return streamErr(HostUnknown, "")
	case c.user != "" && domain != c.domain:
		return streamErr(HostUnknown, "the domain changed after authentication")
	}
	return nil
}

// versionOK accepts any 1.x version (RFC 6120 section 4.7.5: a higher minor
// version is answered with ours); a missing version means pre-1.0.
func versionOK(v string) bool {
	minor, ok := strings.CutPrefix(v, "1.")
	return ok && minor != "" && strings.Trim(minor, "0123456789") == ""
}

// clientAddr returns the client's from address, prepared, to be the to of our
// header (RFC 6120 section 4.7.2), or "" if it is absent or not a JID.
func clientAddr(h *xmlstream.StreamHeader) string {
	from := h.Attr("from")
	if from == "" {
		return ""
	}
	j, err := jid.Parse(from)
	if err != nil {
		return ""
	}
	return j.String()
}

// appendHeaderLocked appends an XML declaration and our stream header with a
// fresh stream id. The client's own id, if any, is ignored.
func (c *conn) appendHeaderLocked(dst []byte, to string) []byte {
	from := c.domain
	if from == "" {
		from = c.l.cfg.DefaultServerDomain
	}
	attrs := make([]xmlstream.Attr, 0, 5)
	if from != "" {
		attrs = append(attrs, xmlstream.Attr{Local: "from", Value: from})
	}
	attrs = append(attrs,
		xmlstream.Attr{Local: "id", Value: newID()},
		xmlstream.Attr{Local: "version", Value: streamsVers},
		xmlstream.Attr{Space: xmlstream.XMLNamespace, Local: "lang", Value: serverLang})
	if to != "" {
		attrs = append(attrs, xmlstream.Attr{Local: "to", Value: to})
	}
	dst = append(dst, xmlstream.XMLDeclaration...)
	return xmlstream.AppendStreamHeader(dst, &xmlstream.StreamHeader{DefaultNS: nsClient, Attrs: attrs})
}

// appendFeatures appends <stream:features/> for the current stage.
func (c *conn) appendFeatures(dst []byte) []byte {
	dst = append(dst, "<stream:features>"...)
	switch {
	case c.user == "":
		if c.tlsOffered() {
			if c.l.cfg.TLSMode == TLSStartTLSRequired {
				dst = append(dst, `<starttls xmlns="`+nsTLS+`"><required/></starttls>`...)
				// TLS is mandatory-to-negotiate: nothing else is offered
				// before it (RFC 6120 section 5.3.1).
				break
			}
			dst = append(dst, `<starttls xmlns="`+nsTLS+`"/>`...)
		}
		dst = c.appendMechanisms(dst)
		if c.preAuthModulesAllowed() {
			dst = c.appendModuleFeatures(dst, module.StagePreAuth)
		}
	case !c.bound:
		dst = append(dst, `<bind xmlns="`+nsBind+`"/>`...)
		if !c.l.cfg.NoLegacySession {
			dst = append(dst, `<session xmlns="`+nsSession+`"><optional/></session>`...)
		}
		dst = c.appendModuleFeatures(dst, module.StagePostAuth)
	}
	return append(dst, "</stream:features>"...)
}

// appendModuleFeatures appends the features the modules of the stream's host type
// offer at stage (roster versioning, CSI, stream management, ...).
func (c *conn) appendModuleFeatures(dst []byte, stage module.Stage) []byte {
	if c.mods == nil || c.hostType == "" {
		return dst
	}
	for _, f := range c.mods.StreamFeatures(c.hostType, stage) {
		dst = f.AppendXML(dst, nsClient)
	}
	return dst
}

// tlsOffered reports whether STARTTLS is offered on this stream.
func (c *conn) tlsOffered() bool {
	return !c.secure && (c.l.cfg.TLSMode == TLSStartTLS || c.l.cfg.TLSMode == TLSStartTLSRequired)
}

// isStanza reports whether el is a message, presence or iq of the stream.
func isStanza(el *xmlstream.Element) bool {
	if el.Space != nsClient {
		return false
	}
	switch el.Local {
	case "message", "presence", "iq":
		return true
	}
	return false
}

// handlePreAuth handles an element before SASL success.
func (c *conn) handlePreAuth(el *xmlstream.Element) error {
	switch {
	case el.Space == nsTLS && el.Local == "starttls":
		return c.startTLS()
	case c.l.cfg.TLSMode == TLSStartTLSRequired && !c.secure:
		if el.Space == nsSASL && el.Local == "auth" {
			return c.authFailed("encryption-required", nil)
		}
		if isStanza(el) {
			return streamErr(NotAuthorized, "")
		}
		return streamErr(PolicyViolation, "STARTTLS is required")
	case el.Space == nsSASL:
		return c.handleSASL(el)
	case isStanza(el):
		if el.Local == "iq" {
			if handled, err := c.preAuthIQ(el); handled {
				return err
			}
		}
		return streamErr(NotAuthorized, "")
	}
	return streamErr(UnsupportedStanzaType, "")
}

// preAuthModulesAllowed reports whether modules may offer features and take IQs
// before authentication (in-band registration): only on a secure stream or on a
// listener without TLS, so that a password is never sent in clear where TLS is on
// offer (the rule PLAIN follows too).
func (c *conn) preAuthModulesAllowed() bool {
	return c.hostType != "" && (c.secure || c.l.cfg.TLSMode == TLSNone)
}

// preAuthIQ hands an IQ sent before authentication to the module that registered
// its namespace (module.PreAuthIQHandler) and writes the reply. handled is false
// when no module takes it: the caller then refuses it as before.
func (c *conn) preAuthIQ(el *xmlstream.Element) (handled bool, err error) {
	h, ok := c.mods.(module.PreAuthIQHandler)
	if !ok || !c.preAuthModulesAllowed() {
		return false, nil
	}
	// The stream has no JID yet: the reply must carry no 'to' (XEP-0077 section 3.1
	// examples; RFC 6120 section 10.3.3 addresses it to the client).
	el.RemoveAttr("from")
	reply, handled := h.PreAuthIQ(module.PreAuthStream{Domain: c.domain, HostType: c.hostType, RemoteAddr: c.raw.RemoteAddr()}, el)
	if !handled {
		return false, nil
	}
	if reply == nil {
		return true, nil
	}
	reply.RemoveAttr("to")
	b := getBuf()
	*b = reply.AppendXML(*b, nsClient)
	return true, c.writeNow(b)
}
