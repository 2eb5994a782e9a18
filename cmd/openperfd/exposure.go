package main

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"

	"github.com/openperfd/openperfd/api/rest"
	"github.com/openperfd/openperfd/cmd/openperfd/config"
)

// apiSecurity reads the token and TLS files the configuration names and
// refuses, in one line, to expose the API beyond loopback without both
// unless --modules.api.insecure says so: anyone who reaches an open
// daemon can send traffic out of its ports. The ZeroMQ endpoint has no
// authentication of its own, so over tcp it stays on loopback too unless
// --modules.api.insecure is given (its ipc socket is guarded by file
// permissions).
func apiSecurity(cfg *config.Config) (rest.Guard, *tls.Config, error) {
	var g rest.Guard
	if cfg.API.TokenFile != "" {
		tok, err := readToken(cfg.API.TokenFile)
		if err != nil {
			return g, nil, fmt.Errorf("--modules.api.token-file: %w", err)
		}
		g.Token = tok
	}
	var tc *tls.Config
	if cfg.API.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.API.TLSCert, cfg.API.TLSKey)
		if err != nil {
			return g, nil, fmt.Errorf("--modules.api.tls-cert/--modules.api.tls-key: %w", err)
		}
		tc = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		g.TLS = true
	}
	if !cfg.API.Insecure {
		if !loopbackHost(cfg.API.Address) && (g.Token == "" || tc == nil) {
			return g, nil, fmt.Errorf("--modules.api.address %s is beyond loopback: give --modules.api.token-file "+
				"and --modules.api.tls-cert/--modules.api.tls-key, or --modules.api.insecure to serve it without them", cfg.API.Address)
		}
		if host, ok := zmqTCPHost(cfg.ZMQ.Endpoint); ok && !loopbackHost(host) {
			return g, nil, fmt.Errorf("--modules.zmq.endpoint %s is beyond loopback and ZeroMQ requests carry no token: "+
				"bind it to 127.0.0.1, use ipc://, or give --modules.api.insecure", cfg.ZMQ.Endpoint)
		}
	}
	g.Hosts = append(g.Hosts, cfg.API.AllowedHosts...)
	if name, err := os.Hostname(); err == nil && name != "" {
		g.Hosts = append(g.Hosts, name)
		if short, _, ok := strings.Cut(name, "."); ok {
			g.Hosts = append(g.Hosts, short)
		}
	}
	if _, err := netip.ParseAddr(cfg.API.Address); err != nil {
		g.Hosts = append(g.Hosts, cfg.API.Address) // a name: clients use it
	}
	return g, tc, nil
}

// readToken reads a bearer token: the file's first line, without spaces
// around it.
func readToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	tok := strings.TrimSpace(string(line))
	if tok == "" {
		return "", fmt.Errorf("%s: the first line is empty; it must hold the token", path)
	}
	if strings.ContainsAny(tok, " \t\r") || !isPrintableASCII(tok) {
		return "", fmt.Errorf("%s: the token must be printable ASCII without spaces", path)
	}
	return tok, nil
}

func isPrintableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// loopbackHost reports whether a listen address keeps the API on this
// machine: localhost or a loopback IP. Any other name may resolve
// anywhere, so it counts as beyond loopback; so do "" and the wildcard
// addresses.
func loopbackHost(host string) bool {
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(strings.TrimSuffix(host, "."), "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}

// zmqTCPHost is the host of a tcp:// ZeroMQ endpoint ("*" is the
// wildcard), with ok false for other endpoints.
func zmqTCPHost(ep string) (string, bool) {
	rest, ok := strings.CutPrefix(ep, "tcp://")
	if !ok {
		return "", false
	}
	host, _, err := net.SplitHostPort(rest)
	if err != nil {
		return rest, true // malformed: the ZeroMQ server will say why; not loopback
	}
	return host, true
}
