package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/muesli/termenv"
	"github.com/openperfd/openperfd/api/gen"
)

// app is what every command runs with: the generated API client and the
// output settings. One app serves one command on one goroutine.
type app struct {
	api    *gen.ClientWithResponses
	server string
	json   bool      // print API bodies unchanged
	in     io.Reader // standard input (bodies given as "-f -")
	out    io.Writer // standard output
	tty    bool      // out is a terminal (watch redraws in place)
}

// conn is how opctl reaches the daemon: a time limit per request, and
// the bearer token and CA a secured daemon needs.
type conn struct {
	timeout time.Duration
	token   string      // "" sends no Authorization
	tls     *tls.Config // nil for the system's roots
}

// connection reads the token (from tokenFile, else the token itself from
// the environment) and the CA file.
func connection(tokenFile, envToken, caFile string) (conn, error) {
	c := conn{token: strings.TrimSpace(envToken)}
	if tokenFile != "" {
		b, err := os.ReadFile(tokenFile)
		if err != nil {
			return c, fmt.Errorf("--token-file: %w", err)
		}
		line, _, _ := strings.Cut(string(b), "\n")
		if c.token = strings.TrimSpace(line); c.token == "" {
			return c, fmt.Errorf("--token-file: %s: the first line is empty; it must hold the token", tokenFile)
		}
	}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return c, fmt.Errorf("--ca-file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return c, fmt.Errorf("--ca-file: %s holds no PEM certificate", caFile)
		}
		c.tls = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return c, nil
}

func newApp(server string, c conn, jsonOut bool, in io.Reader, out io.Writer) (*app, error) {
	hc := &http.Client{Timeout: c.timeout}
	if c.tls != nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = c.tls
		hc.Transport = tr
	}
	opts := []gen.ClientOption{gen.WithHTTPClient(hc)}
	if c.token != "" {
		auth := "Bearer " + c.token
		opts = append(opts, gen.WithRequestEditorFn(func(_ context.Context, req *http.Request) error {
			req.Header.Set("Authorization", auth)
			return nil
		}))
	}
	api, err := gen.NewClientWithResponses(server, opts...)
	if err != nil {
		return nil, err
	}
	return &app{api: api, server: server, json: jsonOut, in: in, out: out, tty: isTerminal(out)}, nil
}

// isTerminal reports whether w is a character device such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// terminal writes the cursor movements of the views that redraw in place
// (watch, demo) to w. opctl prints no colour, so the profile is plain
// ASCII and there is nothing for NO_COLOR to turn off.
func terminal(w io.Writer) *termenv.Output {
	return termenv.NewOutput(w, termenv.WithProfile(termenv.Ascii))
}

// response is what every generated *XxxResponse has.
type response interface {
	StatusCode() int
	GetBody() []byte
}

// check turns the result of a generated client call into opctl's errors:
// no answer, or an answer outside 2xx.
func (a *app) check(r response, err error) error {
	if err != nil {
		return transportError(a.server, err)
	}
	code := r.StatusCode()
	if code >= 200 && code < 300 {
		return nil
	}
	return replyError(code, r.GetBody())
}

// reply reads the reply of a call of the generated client: no answer,
// or an answer outside 2xx, is an error; else it returns the body.
func (a *app) reply(resp *http.Response, err error) ([]byte, error) {
	if err != nil {
		return nil, transportError(a.server, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, transportError(a.server, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, replyError(resp.StatusCode, body)
	}
	return body, nil
}

// decode reads the body of a 2xx reply, which the spec says is JSON.
func decode[T any](body []byte) (T, error) {
	var v T
	if err := json.Unmarshal(body, &v); err != nil {
		return v, fmt.Errorf("bad reply from openperfd: %.200q", body)
	}
	return v, nil
}

// replyError reads the API's {"code", "message"}; a body of another shape
// still gives a one-line message.
func replyError(code int, body []byte) error {
	var e gen.Error
	if json.Unmarshal(body, &e) == nil && e.Message != "" {
		return &apiError{code: code, message: e.Message}
	}
	msg := strings.Join(strings.Fields(string(body)), " ")
	if msg == "" || len(msg) > 200 {
		msg = http.StatusText(code)
	}
	if msg == "" {
		msg = "unexpected reply"
	}
	return &apiError{code: code, message: msg}
}

// raw prints an API body unchanged, ending with a newline; an empty body
// (204) prints nothing.
func (a *app) raw(body []byte) error {
	if len(body) == 0 {
		return nil
	}
	if _, err := a.out.Write(body); err != nil {
		return err
	}
	if !bytes.HasSuffix(body, []byte("\n")) {
		_, err := io.WriteString(a.out, "\n")
		return err
	}
	return nil
}

// readBody reads a JSON request body from a file, or from stdin for "-",
// and checks that it is JSON before it is sent.
func (a *app) readBody(path string) ([]byte, error) {
	b, err := a.readFile(path)
	if err != nil {
		return nil, err
	}
	if !json.Valid(b) {
		return nil, usageErrorf("%s: not valid JSON", path)
	}
	return b, nil
}

// readFile reads path, or the input for "-".
func (a *app) readFile(path string) ([]byte, error) {
	if path == "-" {
		return io.ReadAll(a.in)
	}
	return os.ReadFile(path)
}

// got returns the decoded body of a 2xx reply; nil means the reply was not
// the JSON the spec promises.
func got[T any](v *T, body []byte) (T, error) {
	if v == nil {
		var zero T
		return zero, fmt.Errorf("bad reply from openperfd: %.200q", body)
	}
	return *v, nil
}

// opt returns &s, or nil for the empty string (an absent optional field).
func opt(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// deref returns *p, or the zero value for nil.
func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
