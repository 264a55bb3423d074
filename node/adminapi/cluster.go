package adminapi

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/mongoose-go/mongoose-go/node"
	"github.com/mongoose-go/mongoose-go/node/cluster"
)

// Cluster endpoints (ours; MongooseIM does this through mongooseimctl join_cluster,
// leave_cluster and remove_from_cluster):
//
//	GET    /cluster               the leader and every server: name, address, suffrage,
//	                              reachability, raft state, applied index
//	POST   /cluster/join          {"address": "host:port", "force": false}: make THIS
//	                              node join the cluster of the member at address
//	POST   /cluster/leave         this node leaves its cluster
//	DELETE /cluster/nodes/{name}  remove another (typically dead) node

// ClusterBackend is what the cluster endpoints need; *node.Node implements it. A
// Backend without it serves no /cluster endpoints.
type ClusterBackend interface {
	ClusterStatus(ctx context.Context) node.ClusterStatus
	JoinCluster(ctx context.Context, addrs []string, force bool) error
	LeaveCluster(ctx context.Context) error
	RemoveNode(ctx context.Context, name string) error
}

// membershipTimeout bounds a join or leave even when the HTTP client goes away: the
// operation is not cancelled halfway because the caller hung up.
const membershipTimeout = 30 * time.Second

func (a *api) clusterRoutes(route func(string, func(http.ResponseWriter, *http.Request) error)) {
	cb, ok := a.b.(ClusterBackend)
	if !ok {
		return
	}
	route("GET /cluster", func(w http.ResponseWriter, r *http.Request) error {
		writeJSON(w, http.StatusOK, cb.ClusterStatus(r.Context()))
		return nil
	})
	route("POST /cluster/join", func(w http.ResponseWriter, r *http.Request) error {
		body, err := parseBody(r)
		if err != nil {
			return err
		}
		addr, err := field[string](body, "address", "'address' field is missing")
		if err != nil {
			return err
		}
		var addrs []string
		for _, a := range strings.Split(addr, ",") {
			a = strings.TrimSpace(a)
			if host, port, err := net.SplitHostPort(a); err != nil || host == "" || port == "" {
				return errorf(http.StatusBadRequest, "Invalid address %q: want host:port", a)
			}
			addrs = append(addrs, a)
		}
		force := false
		if _, ok := body["force"]; ok {
			if force, err = field[bool](body, "force", ""); err != nil {
				return err
			}
		}
		ctx, cancel := detached(r)
		defer cancel()
		if err := cb.JoinCluster(ctx, addrs, force); err != nil {
			return clusterError(err)
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
	route("POST /cluster/leave", func(w http.ResponseWriter, r *http.Request) error {
		ctx, cancel := detached(r)
		defer cancel()
		if err := cb.LeaveCluster(ctx); err != nil {
			return clusterError(err)
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
	route("DELETE /cluster/nodes/{name}", func(w http.ResponseWriter, r *http.Request) error {
		ctx, cancel := detached(r)
		defer cancel()
		if err := cb.RemoveNode(ctx, r.PathValue("name")); err != nil {
			return clusterError(err)
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}

func detached(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(r.Context()), membershipTimeout)
}

// clusterError maps membership errors: a refusal is a conflict with the cluster's
// state (409), an unknown node 404, a member that cannot be reached or authenticated
// a bad gateway (502), no leader 503.
func clusterError(err error) error {
	switch {
	case errors.Is(err, node.ErrNoLeader):
		return &httpError{http.StatusServiceUnavailable, err.Error()}
	case errors.Is(err, node.ErrRefused):
		return &httpError{http.StatusConflict, err.Error()}
	case errors.Is(err, node.ErrUnknownNode):
		return &httpError{http.StatusNotFound, err.Error()}
	case errors.Is(err, node.ErrJoinFailed), errors.Is(err, cluster.ErrSecretMismatch),
		errors.Is(err, cluster.ErrNotClusterPort), errors.Is(err, cluster.ErrHandshakeTimeout):
		return &httpError{http.StatusBadGateway, err.Error()}
	}
	return &httpError{http.StatusInternalServerError, err.Error()}
}
