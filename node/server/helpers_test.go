package server_test

import (
	"context"
	"maps"
	"testing"
	"time"

	"github.com/mongoose-go/mongoose-go/node/config"
	"github.com/mongoose-go/mongoose-go/node/server"
	"github.com/mongoose-go/mongoose-go/xmpp/mam"
	"github.com/mongoose-go/mongoose-go/xmpp/muclight"
)

// serve starts a server on cfg, stops it when the test ends, and returns it once
// it serves, with the base URL of its admin API.
func serve(t testing.TB, cfg *config.Config) (*server.Server, string) {
	t.Helper()
	s := startServer(t, cfg)
	t.Cleanup(func() { s.Close() })
	return s, "http://" + s.AdminAddrs()[0] + "/api"
}

// startServer starts a server on cfg and returns it once it serves; the caller
// closes it (tests that restart a node on the same data dir).
func startServer(t testing.TB, cfg *config.Config) *server.Server {
	t.Helper()
	s, err := server.Start(cfg, server.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.WaitReady(ctx); err != nil {
		s.Close()
		t.Fatal(err)
	}
	return s
}

// withRoomsAndArchives adds host type hostType to cfg: the default modules plus
// mod_muc_light and mod_mam archiving both one-to-one and MUC Light room messages.
func withRoomsAndArchives(cfg *config.Config, hostType string) *config.Config {
	cfg.General.HostTypes = append(cfg.General.HostTypes, hostType)
	mods := maps.Clone(cfg.Modules)
	mods[muclight.Name] = config.Module{Name: muclight.Name, Opts: map[string]any{}}
	mods[mam.Name] = config.Module{Name: mam.Name, Opts: map[string]any{
		"pm":  map[string]any{},
		"muc": map[string]any{"host": "muclight.@HOST@"},
	}}
	cfg.HostConfigs = append(cfg.HostConfigs, config.HostConfig{HostType: hostType, Modules: mods})
	return cfg
}
