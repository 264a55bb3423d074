package adminapi

import (
	"encoding/json"
	"net/http"

	"github.com/mongoose-go/mongoose-go/node"
	"github.com/mongoose-go/mongoose-go/store"
)

// domainJSON is one row of our GET /domains.
type domainJSON struct {
	Domain   string `json:"domain"`
	HostType string `json:"host_type"`
	Status   string `json:"status"`
	Type     string `json:"type"`
}

func toDomainJSON(d node.DomainInfo) domainJSON {
	t := "dynamic"
	if d.Static {
		t = "static"
	}
	return domainJSON{Domain: d.Name, HostType: d.HostType, Status: d.Status.String(), Type: t}
}

// domainName validates the {domain} path segment first, as MongooseIM does before it
// looks at the body.
func domainName(r *http.Request) (string, error) {
	d, err := node.NormalizeDomain(r.PathValue("domain"))
	if err != nil {
		return "", errorf(http.StatusBadRequest, "Invalid domain name")
	}
	return d, nil
}

// domainAndBody reads the {domain} path segment, then the JSON body: MongooseIM's
// order, so a bad name wins over a bad body.
func domainAndBody(r *http.Request) (string, map[string]json.RawMessage, error) {
	name, err := domainName(r)
	if err != nil {
		return "", nil, err
	}
	body, err := parseBody(r)
	return name, body, err
}

func (a *api) listDomains(w http.ResponseWriter, r *http.Request) error {
	ds, err := a.b.ListDomains(r.URL.Query().Get("host_type"))
	if err != nil {
		return err
	}
	out := make([]domainJSON, len(ds))
	for i, d := range ds {
		out[i] = toDomainJSON(d)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *api) getDomain(w http.ResponseWriter, r *http.Request) error {
	name, err := domainName(r)
	if err != nil {
		return err
	}
	d, err := a.b.Domain(name)
	if err != nil {
		return err
	}
	if d.Static {
		return node.ErrStatic
	}
	writeJSON(w, http.StatusOK, map[string]string{"host_type": d.HostType, "status": d.Status.String()})
	return nil
}

func (a *api) putDomain(w http.ResponseWriter, r *http.Request) error {
	name, body, err := domainAndBody(r)
	if err != nil {
		return err
	}
	ht, err := field[string](body, "host_type", "'host_type' field is missing")
	if err != nil {
		return err
	}
	if err := a.b.AddDomain(r.Context(), name, ht); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *api) patchDomain(w http.ResponseWriter, r *http.Request) error {
	name, body, err := domainAndBody(r)
	if err != nil {
		return err
	}
	enabled, err := field[bool](body, "enabled", "'enabled' field is missing")
	if err != nil {
		return err
	}
	if err := a.b.SetDomainEnabled(r.Context(), name, enabled); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *api) deleteDomain(w http.ResponseWriter, r *http.Request) error {
	name, body, err := domainAndBody(r)
	if err != nil {
		return err
	}
	ht, err := field[string](body, "host_type", "'host_type' field is missing")
	if err != nil {
		return err
	}
	async := false
	if _, ok := body["request"]; ok {
		if async, err = field[bool](body, "request", ""); err != nil {
			return err
		}
	}
	if err := a.b.RemoveDomain(r.Context(), name, ht, async); err != nil {
		return err
	}
	if async {
		w.WriteHeader(http.StatusAccepted)
	} else {
		w.WriteHeader(http.StatusNoContent)
	}
	return nil
}

func (a *api) putDomainPassword(w http.ResponseWriter, r *http.Request) error {
	name, body, err := domainAndBody(r)
	if err != nil {
		return err
	}
	pw, err := field[string](body, "password", "'password' field is missing")
	if err != nil {
		return err
	}
	if pw == "" {
		return errorf(http.StatusBadRequest, "Empty password")
	}
	if err := a.b.SetDomainPassword(r.Context(), name, pw); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *api) deleteDomainPassword(w http.ResponseWriter, r *http.Request) error {
	name, err := domainName(r)
	if err != nil {
		return err
	}
	if err := a.b.DeleteDomainPassword(r.Context(), name); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type hostTypeJSON struct {
	Name    string `json:"name"`
	Domains int    `json:"domains"`
}

func (a *api) hostTypes(w http.ResponseWriter, r *http.Request) error {
	hts := a.b.HostTypes()
	counts := make(map[string]int, len(hts))
	ds, err := a.b.ListDomains("")
	if err != nil {
		return err
	}
	for _, d := range ds {
		if !d.Static && d.Status != store.StatusDeleting {
			counts[d.HostType]++
		}
	}
	out := make([]hostTypeJSON, 0, len(hts))
	for _, ht := range hts {
		out = append(out, hostTypeJSON{Name: ht, Domains: counts[ht]})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *api) status(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, a.b.Status())
	return nil
}
