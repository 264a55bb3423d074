package adminapi

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/mongoose-go/mongoose-go/xmpp/muclight"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// MUC Light rooms follow mongoose_admin_api_muc_light of MongooseIM 6.5.0: {domain} is
// the MUC Light service domain (muclight.example.com) and {id} the room's local part.
// POST /muc-lights/{domain} {owner, name, subject} creates a room with a generated id
// (201, the room JID, Location); PUT the same with "id" names it (403 when it exists);
// POST .../participants {sender, recipient} invites; POST .../messages {from, body}
// sends; DELETE .../management destroys (all 204). GET .../messages?limit= is ours:
// the room's archive when mod_mam archives rooms, else 404 with the reason.

// MUCLight is what /muc-lights needs; *muclight.Service implements it.
type MUCLight interface {
	CreateRoom(ctx context.Context, mucDomain, id, owner, name, subject string) (string, error)
	Invite(ctx context.Context, mucDomain, id, sender, recipient string) error
	SendMessage(ctx context.Context, mucDomain, id, from, body string) error
	DeleteRoom(ctx context.Context, mucDomain, id string) error
	History(ctx context.Context, mucDomain, id string, limit int) ([]*xmlstream.Element, error)
}

func (a *api) mucLightRoutes(route func(string, func(http.ResponseWriter, *http.Request) error)) {
	route("POST /muc-lights/{domain}", a.createMUCLight)
	route("PUT /muc-lights/{domain}", a.createMUCLight)
	route("POST /muc-lights/{domain}/{id}/participants", a.inviteMUCLight)
	route("POST /muc-lights/{domain}/{id}/messages", a.sendMUCLight)
	route("GET /muc-lights/{domain}/{id}/messages", a.historyMUCLight)
	route("DELETE /muc-lights/{domain}/{id}/management", a.deleteMUCLight)
}

// mucLightError maps the service's errors to MongooseIM's answers.
func mucLightError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, muclight.ErrNoService):
		return errorf(http.StatusNotFound, "MUC Light server not found")
	case errors.Is(err, muclight.ErrNotFound):
		return errorf(http.StatusNotFound, "Room not found")
	case errors.Is(err, muclight.ErrNotAllowed):
		return errorf(http.StatusForbidden, "Given user does not occupy this room or is not allowed to")
	case errors.Is(err, muclight.ErrExists):
		return errorf(http.StatusForbidden, "Room already exists")
	case errors.Is(err, muclight.ErrBadRequest):
		return errorf(http.StatusBadRequest, "Invalid request")
	case errors.Is(err, muclight.ErrNoArchive):
		return errorf(http.StatusNotFound, "%s", err.Error())
	}
	return err
}

func (a *api) createMUCLight(w http.ResponseWriter, r *http.Request) error {
	body, err := parseBody(r)
	if err != nil {
		return err
	}
	owner, err := field[string](body, "owner", "Missing owner JID")
	if err != nil {
		return err
	}
	name, err := field[string](body, "name", "Missing room name")
	if err != nil {
		return err
	}
	subject, err := field[string](body, "subject", "Missing room subject")
	if err != nil {
		return err
	}
	id := ""
	if r.Method == http.MethodPut {
		if id, err = field[string](body, "id", "Missing room ID"); err != nil {
			return err
		}
	}
	room, err := a.cfg.MUCLight.CreateRoom(r.Context(), r.PathValue("domain"), id, owner, name, subject)
	if err != nil {
		return mucLightError(err)
	}
	w.Header().Set("Location", r.URL.Path+"/"+room)
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write([]byte(room))
	return nil
}

func (a *api) inviteMUCLight(w http.ResponseWriter, r *http.Request) error {
	body, err := parseBody(r)
	if err != nil {
		return err
	}
	sender, err := field[string](body, "sender", "Missing sender JID")
	if err != nil {
		return err
	}
	recipient, err := field[string](body, "recipient", "Missing recipient JID")
	if err != nil {
		return err
	}
	if err := a.cfg.MUCLight.Invite(r.Context(), r.PathValue("domain"), r.PathValue("id"), sender, recipient); err != nil {
		return mucLightError(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *api) sendMUCLight(w http.ResponseWriter, r *http.Request) error {
	body, err := parseBody(r)
	if err != nil {
		return err
	}
	from, err := field[string](body, "from", "Missing sender JID")
	if err != nil {
		return err
	}
	text, err := field[string](body, "body", "Missing message body")
	if err != nil {
		return err
	}
	if err := a.cfg.MUCLight.SendMessage(r.Context(), r.PathValue("domain"), r.PathValue("id"), from, text); err != nil {
		return mucLightError(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// historyMUCLight returns the archived messages as MongooseIM's /messages does:
// [{sender, timestamp?, message_id, body}].
func (a *api) historyMUCLight(w http.ResponseWriter, r *http.Request) error {
	limit := 50
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return errorf(http.StatusBadRequest, "Invalid limit")
		}
		limit = n
	}
	msgs, err := a.cfg.MUCLight.History(r.Context(), r.PathValue("domain"), r.PathValue("id"), limit)
	if err != nil {
		return mucLightError(err)
	}
	out := make([]map[string]string, 0, len(msgs))
	for _, m := range msgs {
		item := map[string]string{"sender": m.Attr("from"), "message_id": m.Attr("id")}
		if b := m.Child(m.Space, "body"); b != nil {
			item["body"] = b.Text()
		}
		out = append(out, item)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *api) deleteMUCLight(w http.ResponseWriter, r *http.Request) error {
	if err := a.cfg.MUCLight.DeleteRoom(r.Context(), r.PathValue("domain"), r.PathValue("id")); err != nil {
		return mucLightError(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
