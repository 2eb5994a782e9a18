package main

import (
	"go.uber.org/zap"

	"github.com/openperfd/openperfd/cmd/openperfd/config"
	"github.com/openperfd/openperfd/stack"
	"github.com/openperfd/openperfd/stack/socket"
)

// startSockets starts the socket server the LD_PRELOAD shim talks to.
// Without -P it takes OpenPerf's unprefixed control socket, so a shim
// run with no prefix variable (as OpenPerf's tests do) finds it; when
// another live instance holds that one, it falls back to the generated
// prefix's. A server that cannot start (a directory this user may not
// write, a live instance on the same prefix) is logged and left out: the
// rest of the daemon does not depend on it; nil then.
func startSockets(cfg *config.Config, prefix string, st *stack.Stack, log *zap.Logger) *socket.Server {
	opts := socket.Options{Prefix: cfg.Prefix, ForceUnlink: cfg.ForceUnlink, Log: log.Named("socket")}
	srv, err := socket.New(st, opts)
	if err != nil && cfg.Prefix == "" {
		log.Warn("socket server: the unprefixed control socket is taken; using the instance prefix", zap.Error(err))
		opts.Prefix = prefix
		srv, err = socket.New(st, opts)
	}
	if err != nil {
		log.Error("socket server not started: programs under the shim cannot reach this instance", zap.Error(err))
		return nil
	}
	log.Info("socket server ready", zap.String("path", srv.Addr()))
	return srv
}
