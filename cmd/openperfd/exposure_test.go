package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openperfd/openperfd/cmd/openperfd/config"
)

func TestAPIBeyondLoopbackNeedsTokenAndTLSOrInsecure(t *testing.T) {
	dir := t.TempDir()
	tok := filepath.Join(dir, "token")
	if err := os.WriteFile(tok, []byte("  abc123  \nignored\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		api  config.APIConfig
		zmq  string
		want string // "" for no error
	}{
		{"loopback", config.APIConfig{Address: "127.0.0.1"}, "", ""},
		{"loopback v6", config.APIConfig{Address: "::1"}, "", ""},
		{"localhost", config.APIConfig{Address: "localhost"}, "tcp://127.0.0.1:5555", ""},
		{"wildcard", config.APIConfig{Address: "0.0.0.0"}, "", "--modules.api.address 0.0.0.0 is beyond loopback"},
		{"v6 wildcard", config.APIConfig{Address: "::"}, "", "beyond loopback"},
		{"other name", config.APIConfig{Address: "lab.example"}, "", "beyond loopback"},
		{"token only", config.APIConfig{Address: "10.0.0.1", TokenFile: tok}, "", "beyond loopback"},
		{"insecure", config.APIConfig{Address: "0.0.0.0", Insecure: true}, "tcp://*:5555", ""},
		{"zmq wildcard", config.APIConfig{Address: "127.0.0.1"}, "tcp://*:5555", "--modules.zmq.endpoint tcp://*:5555 is beyond loopback"},
		{"zmq ip", config.APIConfig{Address: "127.0.0.1"}, "tcp://10.0.0.1:5555", "beyond loopback"},
		{"zmq ipc", config.APIConfig{Address: "127.0.0.1"}, "ipc:///tmp/x.sock", ""},
		{"empty token", config.APIConfig{Address: "127.0.0.1", TokenFile: empty}, "", "the first line is empty"},
		{"missing token", config.APIConfig{Address: "127.0.0.1", TokenFile: filepath.Join(dir, "none")}, "", "--modules.api.token-file: open"},
		{"bad cert", config.APIConfig{Address: "127.0.0.1", TLSCert: tok, TLSKey: tok}, "", "--modules.api.tls-cert/--modules.api.tls-key"},
	} {
		cfg := &config.Config{API: tc.api, ZMQ: config.ZMQConfig{Endpoint: tc.zmq}}
		g, _, err := apiSecurity(cfg)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		case err == nil && tc.api.TokenFile == tok && g.Token != "abc123":
			t.Errorf("%s: token %q", tc.name, g.Token)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error is not one line: %q", tc.name, err)
		}
	}
}
