// Package rest serves the OpenAPI spec in api/openapi.yaml over HTTP with
// echo: requests are validated against the embedded spec, handled by the
// strict handlers in this package, and every error becomes the OpenPerf
// error body {"code", "message"} in one place (errorHandler).
package rest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/labstack/echo/v4"
	"go.uber.org/zap"

	"github.com/openperfd/openperfd/api/gen"
	"github.com/openperfd/openperfd/packet/analyzer"
	"github.com/openperfd/openperfd/packet/capture"
	"github.com/openperfd/openperfd/packet/generator"
	"github.com/openperfd/openperfd/packet/rfc2544"
	"github.com/openperfd/openperfd/packet/tvlp"
	"github.com/openperfd/openperfd/packetio"
	"github.com/openperfd/openperfd/stack"
	"github.com/openperfd/openperfd/stack/socket"
	"github.com/openperfd/openperfd/workers"
)

// BuildInfo is what /version reports.
type BuildInfo struct {
	Version, BuildNumber, BuildTime, SourceCommit string
}

// Services are the daemon's services the API exposes.
type Services struct {
	Ports   *packetio.Service
	Workers interface{ Stats() []workers.Stats }
	Stack   *stack.Stack
	// Generators is nil when the packet generator is not loaded.
	Generators *generator.Service
	// Analyzers is nil when the packet analyzer is not loaded.
	Analyzers *analyzer.Service
	// Captures is nil when packet capture is not loaded.
	Captures *capture.Service
	// Tvlp is nil when TVLP is not loaded (no packet generator).
	Tvlp *tvlp.Service
	// Rfc2544 is nil when RFC 2544 runs are not loaded (they need the
	// packet generator and analyzer).
	Rfc2544 *rfc2544.Service
	// Sockets is nil when the socket server (the shim's) is not running.
	Sockets *socket.Server
}

// Server is the REST API.
type Server struct {
	echo  *echo.Echo
	log   *zap.Logger
	build BuildInfo
	svc   Services
}

// Handlers implements gen.StrictServerInterface; ZeroMQ calls the same.
type Handlers struct {
	build BuildInfo
	svc   Services
	// The resources with a lifecycle, to the generic handlers.
	generators *kind[generator.Spec, generator.View, generator.ResultView, gen.PacketGenerator, gen.PacketGeneratorResult]
	analyzers  *kind[analyzer.Spec, analyzer.View, analyzer.ResultView, gen.PacketAnalyzer, gen.PacketAnalyzerResult]
	captures   *kind[capture.Spec, capture.View, capture.ResultView, gen.PacketCapture, gen.PacketCaptureResult]
}

var _ gen.StrictServerInterface = (*Handlers)(nil)

// NewHandlers returns the API operations over the services.
func NewHandlers(build BuildInfo, svc Services) *Handlers {
	return &Handlers{build: build, svc: svc, generators: newGeneratorKind(svc.Generators),
		analyzers: newAnalyzerKind(svc.Analyzers), captures: newCaptureKind(svc.Captures)}
}

// New builds the HTTP server.
func New(log *zap.Logger, h *Handlers) (*Server, error) {
	spec, err := gen.GetSwagger()
	if err != nil {
		return nil, fmt.Errorf("load embedded OpenAPI spec: %w", err)
	}
	spec.Servers = nil // match any host
	router, err := gorillamux.NewRouter(spec)
	if err != nil {
		return nil, fmt.Errorf("build OpenAPI router: %w", err)
	}
	openapi3.SchemaErrorDetailsDisabled = true

	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = errorHandler(log, allowedMethods(spec))
	e.Use(accessLog(log))
	e.Use(recoverPanics(log))
	e.Use(limitBody(MaxBodyBytes))
	e.Use(requireJSON)
	e.Use(strictJSON)
	e.Use(pathIDs)
	e.Use(validate(router))
	gen.RegisterHandlers(e, gen.NewStrictHandler(h, nil))
	if err := mountDocs(e); err != nil {
		return nil, err
	}
	if err := mountMetrics(e, h.svc, log); err != nil {
		return nil, err
	}
	return &Server{echo: e, log: log, build: h.build, svc: h.svc}, nil
}

// Handler is the API without the network guard: for tests and for
// in-process callers (the ZeroMQ endpoint, the config file's resources).
func (s *Server) Handler() http.Handler { return s.echo }

// Serve answers on l until Shutdown, each request first passing g's
// checks. l may be a TLS listener (g.TLS then says so).
func (s *Server) Serve(l net.Listener, g Guard) error {
	s.echo.Listener = l
	srv := &http.Server{
		Handler: g.protect(s.log, s.echo),
		// Body reads and response writes get deadlines that move with
		// progress (see withDeadlines); no ReadTimeout or WriteTimeout,
		// which would also bound a slow handler.
		ReadHeaderTimeout: headerTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          zap.NewStdLog(s.log.Named("http")),
	}
	s.echo.Server = srv
	err := srv.Serve(l)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting requests and waits for those in flight until
// ctx ends; then it closes the connections still open and returns ctx's
// error.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.echo.Shutdown(ctx)
	if err != nil {
		_ = s.echo.Close()
	}
	return err
}

// MaxBodyBytes bounds a request body. The largest real one, a bulk-create
// of 100k interfaces, is about 20 MB; without a bound one oversized
// request could take the daemon's memory, and its ports with it.
var MaxBodyBytes int64 = 256 << 20

// limitBody answers 413 to a body over max bytes: at once when its
// Content-Length says so, else when reading passes max.
func limitBody(max int64) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if req.ContentLength > max {
				return tooLarge(max)
			}
			req.Body = http.MaxBytesReader(c.Response(), req.Body, max)
			return next(c)
		}
	}
}

func tooLarge(max int64) error {
	return &apiError{status: http.StatusRequestEntityTooLarge,
		msg: fmt.Sprintf("request body is over the limit of %d bytes", max)}
}

// validate checks each request against the spec before a handler runs, so
// bad input is a 400 naming the field. Unknown paths and wrong methods
// fall through to echo's router, which answers 404 and 405.
func validate(router routers.Router) echo.MiddlewareFunc {
	opts := &openapi3filter.Options{
		MultiError:         false,
		AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			route, params, err := router.FindRoute(req)
			if err != nil {
				return next(c)
			}
			in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts}
			if err := openapi3filter.ValidateRequest(req.Context(), in); err != nil {
				if mb := (*http.MaxBytesError)(nil); errors.As(err, &mb) {
					return err // statusOf answers 413
				}
				return &apiError{status: http.StatusBadRequest, msg: validationMessage(err)}
			}
			return next(c)
		}
	}
}

// validationMessage makes kin-openapi's error one readable line that
// names the field.
func validationMessage(err error) string {
	var re *openapi3filter.RequestError
	if errors.As(err, &re) {
		var se *openapi3.SchemaError
		if errors.As(re.Err, &se) {
			field := fieldPath(se.JSONPointer())
			if field == "" {
				field = "body"
			}
			return fmt.Sprintf("invalid request: %s: %s", field, se.Reason)
		}
		if re.Parameter != nil {
			return fmt.Sprintf("invalid request: parameter %s: %s", re.Parameter.Name, firstLine(re.Err))
		}
		if re.RequestBody != nil && re.Err != nil {
			return "invalid request body: " + firstLine(re.Err)
		}
	}
	return "invalid request: " + firstLine(err)
}

// fieldPath spells a JSON pointer as the rest of the API names fields:
// "config.traffic[0].length.fixed", indexes in brackets.
func fieldPath(pointer []string) string {
	var b strings.Builder
	for _, seg := range pointer {
		if _, err := strconv.ParseUint(seg, 10, 64); err == nil {
			b.WriteString("[" + seg + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(seg)
	}
	return b.String()
}

func firstLine(err error) string {
	if err == nil {
		return ""
	}
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

// apiError is an error with the status code it should be answered with.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func badRequest(format string, a ...any) error {
	return &apiError{status: http.StatusBadRequest, msg: fmt.Sprintf(format, a...)}
}

// statusOf maps an error to its HTTP status: the one place that does.
func statusOf(err error) (int, string) {
	var ae *apiError
	var he *echo.HTTPError
	var mb *http.MaxBytesError
	switch {
	case errors.As(err, &ae):
		return ae.status, ae.msg
	case errors.As(err, &mb):
		return http.StatusRequestEntityTooLarge, tooLarge(mb.Limit).Error()
	case errors.Is(err, packetio.ErrNotFound):
		return http.StatusNotFound, message(err)
	case errors.Is(err, packetio.ErrInvalid), errors.Is(err, packetio.ErrInUse), errors.Is(err, packetio.ErrOverBudget):
		return http.StatusBadRequest, message(err)
	case errors.As(err, &he):
		msg := fmt.Sprint(he.Message)
		if he.Internal != nil {
			msg = fmt.Sprintf("%s: %s", msg, firstLine(he.Internal))
		}
		return he.Code, msg
	default:
		return http.StatusInternalServerError, err.Error()
	}
}

// message is the text clients see of a service's error: an item of a bulk
// request named as the request spells it ("items[2]"), and a field (the
// id, a generator's config) by its path.
func message(err error) string {
	var ie *packetio.ItemError
	if !errors.As(err, &ie) {
		msg, _ := fieldMessage(err)
		return msg
	}
	msg, field := fieldMessage(ie.Err)
	if field {
		return fmt.Sprintf("items[%d].%s", ie.Index, msg)
	}
	return fmt.Sprintf("items[%d]: %s", ie.Index, msg)
}

// fieldMessage words err; field reports a message that starts with the
// path of the field at fault.
func fieldMessage(err error) (msg string, field bool) {
	if msg, ok := generatorMessage(err); ok {
		return msg, true
	}
	var fe *packetio.FieldError
	return err.Error(), errors.As(err, &fe)
}

// allowedMethods maps each route, as echo writes it ("/ports/:id"), to
// the Allow header of a 405 on it: exactly the path's methods, sorted, as
// OpenPerf lists them (echo's own adds OPTIONS).
func allowedMethods(spec *openapi3.T) map[string]string {
	out := map[string]string{}
	for path, item := range spec.Paths.Map() {
		var methods []string
		for m := range item.Operations() {
			methods = append(methods, m)
		}
		sort.Strings(methods)
		route := pathParam.ReplaceAllString(path, ":$1")
		out[route] = strings.Join(methods, ", ")
	}
	return out
}

var pathParam = regexp.MustCompile(`\{([^}]+)\}`)

func errorHandler(log *zap.Logger, allow map[string]string) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		code, msg := statusOf(err)
		if code == http.StatusMethodNotAllowed {
			if a, ok := allow[c.Path()]; ok {
				c.Response().Header().Set(echo.HeaderAllow, a)
			}
		}
		if code >= 500 {
			log.Error("request failed", zap.String("method", c.Request().Method),
				zap.String("path", c.Request().URL.Path), zap.Error(err))
		}
		if c.Request().Method == http.MethodHead {
			_ = c.NoContent(code)
			return
		}
		_ = c.JSON(code, gen.Error{Code: int32(code), Message: msg})
	}
}

func accessLog(log *zap.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				c.Error(err)
			}
			log.Debug("request", zap.String("method", c.Request().Method),
				zap.String("path", c.Request().URL.Path), zap.Int("status", c.Response().Status),
				zap.Duration("took", time.Since(start)))
			return nil
		}
	}
}

// recoverPanics turns a handler panic (a bug) into a logged 500, so one
// bad request cannot cut the connection without an answer.
func recoverPanics(log *zap.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) (err error) {
			defer func() {
				if r := recover(); r != nil {
					log.Error("handler panic", zap.String("method", c.Request().Method),
						zap.String("path", c.Request().URL.Path), zap.Any("panic", r), zap.Stack("stack"))
					err = fmt.Errorf("internal error: %v", r)
				}
			}()
			return next(c)
		}
	}
}
