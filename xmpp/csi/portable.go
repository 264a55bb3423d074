package csi

import (
	"errors"
	"fmt"

	"github.com/mongoose-go/mongoose-go/xmpp/module"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// A session resumed on another node stays inactive there, with the stanzas CSI
// was holding back: one byte (1: inactive), then the buffer
// (module.EncodeStanzas). Encoding hands the buffer over: it runs once, as the
// session leaves this node, and the copy left here turns active, so what is still
// routed to it passes on to stream management, which forwards it after the
// handover, behind the stanzas sent here (the order is kept on the new node).

func encodeState(v any) ([]byte, error) {
	st, ok := v.(*state)
	if !ok {
		return nil, fmt.Errorf("csi: state of type %T", v)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	flag := byte(0)
	if st.inactive {
		flag = 1
	}
	out := append([]byte{flag}, module.EncodeStanzas(st.buf)...)
	st.inactive, st.buf = false, nil
	return out, nil
}

func decodeState(b []byte) (any, error) {
	if len(b) < 1 || b[0] > 1 {
		return nil, errors.New("csi: bad state")
	}
	buf, err := module.DecodeStanzas(b[1:])
	if err != nil {
		return nil, err
	}
	if len(buf) == 0 {
		buf = nil
	}
	return &state{inactive: b[0] == 1, buf: buf, replay: map[*xmlstream.Element]int{}}, nil
}
