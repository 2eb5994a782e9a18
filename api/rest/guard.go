package rest

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/openperfd/openperfd/api/gen"
)

// Guard is what the network listener checks before the API sees a
// request: the Host a client named, where a browser page came from, and
// a bearer token. Requests made in-process (the ZeroMQ endpoint, the
// config file's resources) do not pass through it; they are not reachable
// by a browser and carry no token.
type Guard struct {
	// Hosts are the host names (not IP literals, which are always
	// accepted) a request's Host may name, besides "localhost" and its
	// subdomains: the machine's name, the listen address when it is a
	// name, and the user's --modules.api.allowed-hosts. "*" accepts any.
	Hosts []string
	// Token, when not empty, is the bearer token every request must carry
	// in "Authorization: Bearer <token>".
	Token string
	// TLS is true when the listener speaks TLS, so the daemon's own
	// origin is https://<host>.
	TLS bool
}

// Timeouts of the network listener. A slow client holds one goroutine and
// one connection; these bound how long it may hold them without progress,
// while a slow handler (a 5 s ping, a large rx-flows list) still answers:
// there is no deadline on the handler itself, only on the peer.
const (
	// headerTimeout bounds the time to send the request line and headers.
	headerTimeout = 10 * time.Second
	// bodyTimeout bounds the whole body, however it trickles in: 20 MB
	// (a bulk-create of 100k interfaces) at 1 Mbit/s takes under 3 min.
	bodyTimeout = 5 * time.Minute
	// writeIdleTimeout bounds one write to a peer that does not read.
	writeIdleTimeout = 30 * time.Second
	// idleTimeout closes a kept-alive connection nobody uses.
	idleTimeout = 2 * time.Minute
)

// bodyIdleTimeout bounds the time between two reads of a request body
// that make progress: a half-sent body is dropped after it. A variable
// for tests.
var bodyIdleTimeout = 10 * time.Second

// protect wraps h in the guard's checks and the per-request deadlines.
func (g Guard) protect(log *zap.Logger, h http.Handler) http.Handler {
	hosts := map[string]bool{}
	for _, n := range g.Hosts {
		hosts[normalizeHost(n)] = true
	}
	scheme := "http"
	if g.TLS {
		scheme = "https"
	}
	token := []byte(g.Token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w, r = withDeadlines(w, r)
		if !hostAllowed(r.Host, hosts) {
			log.Warn("refused a request for a host this daemon does not answer to", zap.String("host", r.Host),
				zap.String("remote", r.RemoteAddr))
			refuse(w, http.StatusMisdirectedRequest, fmt.Sprintf(
				"Host %q is not a name of this daemon (add it with --modules.api.allowed-hosts)", r.Host))
			return
		}
		if len(token) > 0 && !bearerMatches(r.Header.Get("Authorization"), token) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="openperfd"`)
			refuse(w, http.StatusUnauthorized, "this daemon needs an Authorization: Bearer <token> header with its token")
			return
		}
		if msg := foreignOrigin(r, scheme); msg != "" {
			log.Warn("refused a cross-origin request", zap.String("origin", r.Header.Get("Origin")),
				zap.String("remote", r.RemoteAddr), zap.String("path", r.URL.Path))
			refuse(w, http.StatusForbidden, msg)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// refuse answers with the API's error body; the request body is not
// read, so the connection is closed after the answer.
func refuse(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Connection", "close")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(gen.Error{Code: int32(code), Message: msg})
}

// hostAllowed reports whether a Host header names this daemon. DNS
// rebinding needs a name the attacker controls, so an IP literal is
// always safe (and is what users behind NAT or a container's published
// port type); names must be localhost (RFC 6761 keeps it on loopback) or
// one the daemon was told about. A request without Host (HTTP/1.0) has no
// name to rebind.
func hostAllowed(hostport string, names map[string]bool) bool {
	if hostport == "" || names["*"] {
		return true
	}
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if _, err := netip.ParseAddr(host); err == nil {
		return true
	}
	host = normalizeHost(host)
	return host == "localhost" || strings.HasSuffix(host, ".localhost") || names[host]
}

// normalizeHost lower-cases a host name and drops a trailing dot, which
// names the same host.
func normalizeHost(h string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(h)), ".")
}

// bearerMatches compares an Authorization header with the token in
// constant time, so the answer's timing does not leak the token.
func bearerMatches(header string, token []byte) bool {
	scheme, cred, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(cred)), token) == 1
}

// foreignOrigin explains why a request comes from a page of another
// origin, or is "". Browsers send Origin on cross-origin requests and on
// every POST, so any Origin other than the daemon's own (the scheme it
// serves and the Host the request named, which hostAllowed checked) is a
// page elsewhere driving the daemon; we answer no CORS, so such a page
// cannot read answers, but a POST would still act. Sec-Fetch-Site, where
// sent, says the same without the comparison. Clients that are not
// browsers send neither.
func foreignOrigin(r *http.Request, scheme string) string {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "cross-site", "same-site":
		return "cross-origin requests are refused: the API takes requests from its own pages and from programs only"
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return ""
	}
	u, err := url.Parse(origin)
	if err == nil && u.Scheme == scheme && strings.EqualFold(u.Host, r.Host) && u.Path == "" {
		return ""
	}
	return fmt.Sprintf("Origin %q is not this daemon's own origin (%s://%s): cross-origin requests are refused", origin, scheme, r.Host)
}

// withDeadlines gives the request's body reads and the response's
// writes deadlines that move with progress: a peer that stops sending a
// body, or stops reading an answer, is cut off, while a handler may take
// as long as it needs. Deadlines are per connection, so each request
// starts by clearing the write deadline an earlier one left.
func withDeadlines(w http.ResponseWriter, r *http.Request) (http.ResponseWriter, *http.Request) {
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{})
	dw := &deadlineWriter{ResponseWriter: w, rc: rc}
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return dw, r
	}
	b := &deadlineBody{ReadCloser: r.Body, rc: rc, end: time.Now().Add(bodyTimeout)}
	// Set now, so a body nobody reads (an early refusal) is still bounded
	// when the server drains it.
	b.extend()
	r2 := *r
	r2.Body = b
	return dw, &r2
}

// deadlineBody extends the connection's read deadline before each read
// of a request body, up to the body's overall limit. After the body's
// end the server clears the deadline itself (its background read must
// not time out while a handler runs), so none is set then.
type deadlineBody struct {
	io.ReadCloser
	rc   *http.ResponseController
	end  time.Time
	done bool
}

func (b *deadlineBody) extend() {
	d := time.Now().Add(bodyIdleTimeout)
	if d.After(b.end) {
		d = b.end
	}
	_ = b.rc.SetReadDeadline(d)
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	if !b.done {
		b.extend()
	}
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.done = true
	}
	return n, err
}

func (b *deadlineBody) Close() error { return b.ReadCloser.Close() }

// deadlineWriter sets a write deadline before each write, so a peer that
// reads nothing cannot hold the handler forever.
type deadlineWriter struct {
	http.ResponseWriter
	rc *http.ResponseController
}

func (w *deadlineWriter) Write(p []byte) (int, error) {
	_ = w.rc.SetWriteDeadline(time.Now().Add(writeIdleTimeout))
	return w.ResponseWriter.Write(p)
}

// Flush lets streamed answers through.
func (w *deadlineWriter) Flush() {
	_ = w.rc.SetWriteDeadline(time.Now().Add(writeIdleTimeout))
	_ = w.rc.Flush()
}

// Unwrap lets http.ResponseController reach the server's writer.
func (w *deadlineWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
