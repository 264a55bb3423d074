package presence

import (
	"fmt"
	"strings"

	"github.com/mongoose-go/mongoose-go/xmpp/jid"
)

// The directed-presence set travels with a session resumed on another node, so
// those addresses still get its unavailable presence: JIDs, one per line.

func encodeDirected(v any) ([]byte, error) {
	d, ok := v.(*directed)
	if !ok {
		return nil, fmt.Errorf("presence: directed set of type %T", v)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	var b strings.Builder
	for j := range d.set {
		b.WriteString(j.String())
		b.WriteByte('\n')
	}
	return []byte(b.String()), nil
}

func decodeDirected(b []byte) (any, error) {
	d := &directed{set: map[jid.JID]struct{}{}}
	for line := range strings.SplitSeq(string(b), "\n") {
		if line == "" {
			continue
		}
		j, err := jid.Parse(line)
		if err != nil {
			return nil, fmt.Errorf("presence: directed set: %w", err)
		}
		d.set[j] = struct{}{}
	}
	return d, nil
}
