package adminapi

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/mam"
)

// Messages follow mongoose_admin_api_messages of MongooseIM 6.5.0:
// POST /messages {caller, to, body} sends a chat message as caller (archived like one
// its client sent; 204); GET /messages/{owner}[/{with}]?limit=&before= returns the
// most recent archived messages, oldest first, as [{sender, timestamp, message_id,
// body}] (limit 0-500, default 100; before in seconds since the epoch).

// Messages is what /messages needs; *mam.Service implements it.
type Messages interface {
	Send(ctx context.Context, from, to jid.JID, body string) error
	Lookup(owner, with jid.JID, before time.Time, limit int) ([]mam.Recent, error)
}

func (a *api) messageRoutes(route func(string, func(http.ResponseWriter, *http.Request) error)) {
	route("POST /messages", a.sendMessage)
	route("GET /messages/{owner}", a.lookupMessages)
	route("GET /messages/{owner}/{with}", a.lookupMessages)
}

func (a *api) sendMessage(w http.ResponseWriter, r *http.Request) error {
	body, err := parseBody(r)
	if err != nil {
		return err
	}
	jidField := func(name, missing, invalid string) (jid.JID, error) {
		s, err := field[string](body, name, missing)
		if err != nil {
			return jid.JID{}, err
		}
		j, err := jid.Parse(s)
		if err != nil {
			return jid.JID{}, errorf(http.StatusBadRequest, "%s", invalid)
		}
		return j, nil
	}
	from, err := jidField("caller", "Missing sender JID", "Invalid sender JID")
	if err != nil {
		return err
	}
	to, err := jidField("to", "Missing recipient JID", "Invalid recipient JID")
	if err != nil {
		return err
	}
	text, err := field[string](body, "body", "Missing message body")
	if err != nil {
		return err
	}
	switch err := a.cfg.Messages.Send(r.Context(), from, to, text); {
	case errors.Is(err, mam.ErrUnknownDomain), errors.Is(err, mam.ErrUnknownUser):
		return errorf(http.StatusBadRequest, "%s", err.Error())
	case err != nil:
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type archivedJSON struct {
	Sender    string `json:"sender"`
	Timestamp int64  `json:"timestamp"`
	MessageID string `json:"message_id"`
	Body      string `json:"body"`
}

func (a *api) lookupMessages(w http.ResponseWriter, r *http.Request) error {
	owner, err := jid.Parse(r.PathValue("owner"))
	if err != nil {
		return errorf(http.StatusBadRequest, "Invalid owner JID")
	}
	var with jid.JID
	if s := r.PathValue("with"); s != "" {
		if with, err = jid.Parse(s); err != nil {
			return errorf(http.StatusBadRequest, "Invalid interlocutor JID")
		}
	}
	limit := 100
	if s := r.URL.Query().Get("limit"); r.URL.Query().Has("limit") {
		if limit, err = strconv.Atoi(s); err != nil || limit < 0 || limit > 500 {
			return errorf(http.StatusBadRequest, "Invalid limit")
		}
	}
	var before time.Time
	if s := r.URL.Query().Get("before"); r.URL.Query().Has("before") {
		secs, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return errorf(http.StatusBadRequest, "Invalid value of 'before'")
		}
		if secs != 0 {
			before = time.Unix(secs, 0)
		}
	}
	msgs, err := a.cfg.Messages.Lookup(owner, with, before, limit)
	if errors.Is(err, mam.ErrNotEnabled) {
		return errorf(http.StatusNotFound, "%s", err.Error())
	}
	if err != nil {
		return err
	}
	out := make([]archivedJSON, 0, len(msgs))
	for _, m := range msgs {
		var text string
		if b := m.Stored.Child("jabber:client", "body"); b != nil {
			text = b.Text()
		}
		out = append(out, archivedJSON{Sender: m.Stored.Attr("from"), Timestamp: mam.IDTime(m.ID).Unix(),
			MessageID: m.Stored.Attr("id"), Body: text})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
