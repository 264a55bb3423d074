// Package version answers XEP-0092 software version queries sent to the server.
package version

import (
	"context"
	"runtime"

	"github.com/mongoose-go/mongoose-go/xmpp/router"
	"github.com/mongoose-go/mongoose-go/xmpp/stanza"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// DefaultName is the software name reported when Config.Name is empty.
const DefaultName = "mongoose-go"

// Config is what the server reports.
type Config struct {
	// Name defaults to DefaultName.
	Name string
	// Version is the release, from the build; "unknown" when empty, because
	// XEP-0092 requires the element.
	Version string
	// OS adds <os/> (runtime GOOS/GOARCH). Off by default, as MongooseIM's
	// os_info: it tells an attacker more than a user.
	OS bool
}

// Register installs the handler for the server JIDs of hostType ("" for all).
func Register(r *router.Router, hostType string, cfg Config) {
	r.HandleIQ(hostType, stanza.NSVersion, router.ToServer, Handler(cfg))
}

// Handler returns the IQ handler answering with cfg.
func Handler(cfg Config) router.IQHandler {
	if cfg.Name == "" {
		cfg.Name = DefaultName
	}
	if cfg.Version == "" {
		cfg.Version = "unknown"
	}
	return func(_ context.Context, q *router.IQ) *xmlstream.Element {
		switch {
		case q.Payload.Local != "query":
			return q.Error(stanza.BadRequest, "")
		case q.El.Attr("type") != "get":
			return q.Error(stanza.NotAllowed, "")
		}
		res := xmlstream.NewElement(stanza.NSVersion, "query")
		res.AddChild(textElement("name", cfg.Name))
		res.AddChild(textElement("version", cfg.Version))
		if cfg.OS {
			res.AddChild(textElement("os", runtime.GOOS+"/"+runtime.GOARCH))
		}
		return q.Result(res)
	}
}

func textElement(name, text string) *xmlstream.Element {
	e := xmlstream.NewElement(stanza.NSVersion, name)
	e.AddText(text)
	return e
}
