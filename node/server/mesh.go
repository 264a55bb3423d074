package server

import (
	"github.com/mongoose-go/mongoose-go/node"
	"github.com/mongoose-go/mongoose-go/node/cluster"
	"github.com/mongoose-go/mongoose-go/node/mesh"
	"github.com/mongoose-go/mongoose-go/xmpp/module"
	"github.com/mongoose-go/mongoose-go/xmpp/router"
)

// The node mesh joins the routers of the cluster's nodes: it is created with the
// router (which publishes binds to it from the first session on), and connects to
// the peers once the router exists to receive what they forward.

// remote creates the mesh for router.Config.Remote.
func (s *Server) remote() router.Remote {
	m, err := mesh.New(mesh.Config{
		Port:    s.Node.Port(),
		Self:    s.Node.Name(),
		Members: members(s.Node),
		Logger:  s.log,
	})
	if err != nil {
		// Only a config without port or name fails, which node.Open already refused.
		s.log.Error("node mesh disabled", "err", err)
		return nil
	}
	s.mesh = m
	return m
}

// startMesh connects the mesh to its peers, and republishes a session's priority
// and availability whenever the modules change them (mod_presence), so that other
// nodes pick bare-JID recipients by the same rules as this one.
func (s *Server) startMesh() {
	if s.mesh == nil || s.Router == nil {
		return
	}
	if s.Modules != nil {
		r := s.Router
		m := module.Module{Name: "mesh_availability", Start: func(env *module.Env, _ module.Options) error {
			env.OnAvailability(func(ms module.Session, _, _ module.Availability) { r.SessionChanged(ms) })
			return nil
		}}
		for _, ht := range s.cfg.AllHostTypes() {
			if err := s.Modules.Start(ht, m, nil); err != nil {
				s.log.Warn("node mesh: availability updates off", "host_type", ht, "err", err)
			}
		}
	}
	s.mesh.Start(s.Router)
}

func (s *Server) closeMesh() error {
	if s.mesh == nil {
		return nil
	}
	return s.mesh.Close()
}

// cluster gives the modules the mesh (stream resumption across nodes), or nil.
func (s *Server) cluster() module.Cluster {
	if s.mesh == nil {
		return nil
	}
	return s.mesh
}

// Mesh returns the node mesh (nil if it did not start).
func (s *Server) Mesh() *mesh.Mesh { return s.mesh }

// members reads the peers from the raft configuration.
func members(n *node.Node) func() []cluster.Peer {
	return func() []cluster.Peer {
		ms := n.Members()
		out := make([]cluster.Peer, len(ms))
		for i, m := range ms {
			out[i] = cluster.Peer{Name: m.Name, Addr: m.Address}
		}
		return out
	}
}
