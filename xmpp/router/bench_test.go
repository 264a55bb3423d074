package router

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// benchSession is the cheapest possible Session, so the benchmark measures the
// router.
type benchSession struct {
	j jid.JID
	n atomic.Int64
}

func (s *benchSession) JID() jid.JID                     { return s.j }
func (s *benchSession) HostType() string                 { return "t1" }
func (s *benchSession) Deliver(*xmlstream.Element) bool  { s.n.Add(1); return true }
func (s *benchSession) Stop(xmlstream.Condition, string) {}

// benchRouter binds 1000 sessions: 500 users with two resources each.
func benchRouter(b *testing.B) (*Router, *benchSession) {
	r := newRouter(b, nil)
	var first *benchSession
	for i := range 1000 {
		s := &benchSession{j: jid.MustParse(fmt.Sprintf("user%d@example.com/res%d", i/2, i%2))}
		if first == nil {
			first = s
		}
		if err := r.Bind(s); err != nil {
			b.Fatal(err)
		}
	}
	return r, first
}

func BenchmarkRouteMessage(b *testing.B) {
	for _, c := range []struct{ name, to string }{
		{"full", "user321@example.com/res1"},
		{"bare", "user321@example.com"},
	} {
		b.Run(c.name, func(b *testing.B) {
			r, from := benchRouter(b)
			el := parse(b, `<message to="`+c.to+`" type="chat" id="m1"><body>hello there</body></message>`)
			el.SetAttr("from", from.j.String())
			b.ReportAllocs()
			for b.Loop() {
				r.Route(from, el)
			}
		})
	}
}

func BenchmarkRouteMessageParallel(b *testing.B) {
	r, from := benchRouter(b)
	el := parse(b, `<message to="user321@example.com/res1" type="chat" id="m1"><body>hello there</body></message>`)
	el.SetAttr("from", from.j.String())
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r.Route(from, el)
		}
	})
}
