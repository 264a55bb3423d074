// Package entitytime answers XEP-0202 entity time queries sent to the server.
package entitytime

import (
	"context"
	"fmt"
	"time"

	"github.com/mongoose-go/mongoose-go/xmpp/router"
	"github.com/mongoose-go/mongoose-go/xmpp/stanza"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// Register installs the handler for the server JIDs of hostType ("" for all). now
// is the clock (nil means time.Now); its location gives the reported offset.
func Register(r *router.Router, hostType string, now func() time.Time) {
	r.HandleIQ(hostType, stanza.NSTime, router.ToServer, Handler(now))
}

// Handler returns the IQ handler reading the clock now.
func Handler(now func() time.Time) router.IQHandler {
	if now == nil {
		now = time.Now
	}
	return func(_ context.Context, q *router.IQ) *xmlstream.Element {
		switch {
		case q.Payload.Local != "time":
			return q.Error(stanza.BadRequest, "")
		case q.El.Attr("type") != "get":
			return q.Error(stanza.NotAllowed, "")
		}
		t := now()
		res := xmlstream.NewElement(stanza.NSTime, "time")
		tzo := xmlstream.NewElement(stanza.NSTime, "tzo")
		tzo.AddText(Offset(t))
		utc := xmlstream.NewElement(stanza.NSTime, "utc")
		// XEP-0082 DateTime in UTC; sub-second precision is optional and omitted.
		utc.AddText(t.UTC().Format("2006-01-02T15:04:05Z"))
		res.AddChild(tzo)
		res.AddChild(utc)
		return q.Result(res)
	}
}

// Offset formats the offset of t's zone from UTC as XEP-0082 wants it, ±hh:mm
// ("+00:00" for UTC). Historic offsets with seconds are truncated to minutes.
func Offset(t time.Time) string {
	_, secs := t.Zone()
	sign := '+'
	if secs < 0 {
		sign, secs = '-', -secs
	}
	return fmt.Sprintf("%c%02d:%02d", sign, secs/3600, secs%3600/60)
}
