package xmlstream

import (
	"reflect"
	"strings"
	"testing"
)

var richStream = "<?xml version='1.0' encoding='UTF-8'?>\n" + testHeader + `
<message to='juliet@example.com' from='romeo@example.net/orchard' type='chat' id='m1' xml:lang='en'>
  <body>Wherefore art thou, Romeo? &lt;3 &#x263A; Привет 🎉</body>
  <thread>e0ffe42b28561960c6b12b944a092794b9683a38</thread>
  <active xmlns='http://jabber.org/protocol/chatstates'/>
  <x xmlns='jabber:x:data' type='form'><field var='a&amp;b'><value>1&#10;2</value></field></x>
</message>
<iq type='result' id='r1'><query xmlns='jabber:iq:roster' ver='v1'><item jid='a@b' name='A &quot;B&quot;' subscription='both'><group>Friends</group></item></query></iq>
 <presence><show>away</show><status><![CDATA[<brb>]]> soon</status><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='n' ver='v'/></presence>` +
	"\r\n<message xmlns:p='urn:p' p:a='x\ty'><p:e xml:lang='fr'>\r\nbonjour\r</p:e></message>" +
	strings.Repeat(" ", 300) + "<a>" + strings.Repeat("<b c='d'>e</b>", 60) + "</a></stream:stream>"

// Every input gives identical results however the bytes are split.
func TestSplitReads(t *testing.T) {
	inputs := []struct {
		in  string
		lim Limits
	}{{richStream, Limits{}}, {richStream, Limits{MaxStanzaSize: 700}}}
	for _, tc := range errorCases {
		in := tc.in
		switch {
		case tc.header:
		case tc.lim != Limits{}:
			in = shortHeader + in
		default:
			in = testHeader + in
		}
		inputs = append(inputs, struct {
			in  string
			lim Limits
		}{in, tc.lim})
	}
	for _, tc := range inputs {
		want := parseString(tc.in, tc.lim)
		for name, mk := range readers(tc.in) {
			r, size := mk()
			got := parseWith(r, size, tc.lim)
			if errKey(got.Err) != errKey(want.Err) {
				t.Fatalf("%q via %s: err %q, want %q", tc.in, name, errKey(got.Err), errKey(want.Err))
			}
			if !reflect.DeepEqual(got.Header, want.Header) || !reflect.DeepEqual(got.Elements, want.Elements) {
				t.Fatalf("%q via %s: different elements", tc.in, name)
			}
		}
	}
	res := parseString(richStream, Limits{})
	if errKey(res.Err) != "closed" || len(res.Elements) != 5 {
		t.Fatalf("rich stream: %d elements, %v", len(res.Elements), res.Err)
	}
	res = parseString(richStream, Limits{MaxStanzaSize: 700})
	if ConditionOf(res.Err) != PolicyViolation || len(res.Elements) != 4 {
		t.Fatalf("rich stream with a limit: %d elements, %v", len(res.Elements), res.Err)
	}
}
