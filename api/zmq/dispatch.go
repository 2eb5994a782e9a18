package zmq

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
	"go.uber.org/zap"

	"github.com/openperfd/openperfd/api/gen"
)

// request is one ZeroMQ request.
type request struct {
	Operation string                     `json:"operation"`
	Params    map[string]json.RawMessage `json:"params"`
	Body      json.RawMessage            `json:"body"`
}

// reply is the answer to one request. Body is the HTTP response body when
// it is JSON (null when empty). Any other body is a JSON string: the text
// itself, or its base64 when it is not UTF-8 (Encoding "base64"); then
// ContentType says what it is.
type reply struct {
	Code        int             `json:"code"`
	Body        json.RawMessage `json:"body"`
	ContentType string          `json:"content_type,omitempty"`
	Encoding    string          `json:"encoding,omitempty"`
}

// operation is how to reach one operationId over HTTP.
type operation struct {
	id       string
	method   string
	template string   // path template, e.g. /ports/{id}
	segments []string // template split at its {params}: literal, name, literal, name, ..., literal
	params   map[string]*openapi3.Parameter
}

// dispatcher turns requests into calls of the REST handler.
type dispatcher struct {
	h   http.Handler
	ops map[string]*operation
	log *zap.Logger
}

func newDispatcher(h http.Handler, log *zap.Logger) (*dispatcher, error) {
	if h == nil {
		return nil, errors.New("zmq: nil http.Handler")
	}
	if log == nil {
		log = zap.NewNop()
	}
	spec, err := gen.GetSpec()
	if err != nil {
		return nil, fmt.Errorf("zmq: load embedded OpenAPI spec: %w", err)
	}
	ops, err := operations(spec)
	if err != nil {
		return nil, err
	}
	return &dispatcher{h: h, ops: ops, log: log}, nil
}

// operations indexes the spec's operations by operationId.
func operations(spec *openapi3.T) (map[string]*operation, error) {
	ops := make(map[string]*operation)
	for tmpl, item := range spec.Paths.Map() {
		if item == nil {
			continue
		}
		segments, err := splitTemplate(tmpl)
		if err != nil {
			return nil, err
		}
		for method, op := range item.Operations() {
			if op == nil || op.OperationID == "" {
				continue
			}
			if prev, dup := ops[op.OperationID]; dup {
				return nil, fmt.Errorf("zmq: operationId %s used by both %s %s and %s %s",
					op.OperationID, prev.method, prev.template, method, tmpl)
			}
			o := &operation{id: op.OperationID, method: method, template: tmpl, segments: segments,
				params: make(map[string]*openapi3.Parameter)}
			// Operation-level parameters override path-level ones.
			for _, list := range []openapi3.Parameters{item.Parameters, op.Parameters} {
				for _, ref := range list {
					if ref != nil && ref.Value != nil && ref.Value.In != openapi3.ParameterInPath {
						o.params[ref.Value.Name] = ref.Value
					}
				}
			}
			ops[op.OperationID] = o
		}
	}
	return ops, nil
}

// splitTemplate splits "/a/{x}/b" into {"/a/", "x", "/b"}.
func splitTemplate(tmpl string) ([]string, error) {
	var out []string
	rest := tmpl
	for {
		open := strings.IndexByte(rest, '{')
		if open < 0 {
			return append(out, rest), nil
		}
		end := strings.IndexByte(rest[open:], '}')
		if end < 0 {
			return nil, fmt.Errorf("zmq: path %s: unterminated {", tmpl)
		}
		name := rest[open+1 : open+end]
		if name == "" {
			return nil, fmt.Errorf("zmq: path %s: empty {}", tmpl)
		}
		out = append(out, rest[:open], name)
		rest = rest[open+end+1:]
	}
}

// handle answers one request message; it never panics and always returns
// a JSON reply.
func (d *dispatcher) handle(ctx context.Context, msg []byte) (out []byte) {
	var op string
	defer func() {
		if r := recover(); r != nil {
			d.log.Error("zmq: request panicked", zap.String("operation", op),
				zap.Any("panic", r), zap.ByteString("stack", debug.Stack()))
			out = errorReply(http.StatusInternalServerError, fmt.Sprintf("internal error: %v", r))
		}
	}()
	var req request
	dec := json.NewDecoder(bytes.NewReader(msg))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return errorReply(http.StatusBadRequest, "malformed request: "+jsonError(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return errorReply(http.StatusBadRequest, "malformed request: data after the JSON object")
	}
	op = req.Operation
	if op == "" {
		return errorReply(http.StatusBadRequest, "malformed request: operation is required")
	}
	o, ok := d.ops[op]
	if !ok {
		return errorReply(http.StatusNotFound, fmt.Sprintf("unknown operation %q", op))
	}
	httpReq, err := o.httpRequest(ctx, req.Params, req.Body)
	if err != nil {
		return errorReply(http.StatusBadRequest, err.Error())
	}
	rec := httptest.NewRecorder()
	d.h.ServeHTTP(rec, httpReq)
	return encodeReply(rec.Result().StatusCode, rec.Header().Get("Content-Type"), rec.Body.Bytes())
}

// httpRequest builds the HTTP request a REST client would send.
func (o *operation) httpRequest(ctx context.Context, params map[string]json.RawMessage, body json.RawMessage) (*http.Request, error) {
	used := make(map[string]bool)
	var path strings.Builder
	for i, seg := range o.segments {
		if i%2 == 0 {
			path.WriteString(seg)
			continue
		}
		raw, ok := params[seg]
		if !ok || isNull(raw) {
			return nil, fmt.Errorf("missing path parameter %s of %s", seg, o.id)
		}
		v, err := scalar(raw)
		if err != nil {
			return nil, fmt.Errorf("path parameter %s: %v", seg, err)
		}
		if v == "" {
			return nil, fmt.Errorf("path parameter %s must not be empty", seg)
		}
		used[seg] = true
		path.WriteString(url.PathEscape(v))
	}

	query := url.Values{}
	header := http.Header{}
	names := make([]string, 0, len(params))
	for name := range params {
		if !used[name] {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		raw := params[name]
		if isNull(raw) {
			continue
		}
		vals, err := values(raw)
		if err != nil {
			return nil, fmt.Errorf("parameter %s: %v", name, err)
		}
		p := o.params[name]
		if p != nil && p.In == openapi3.ParameterInHeader {
			header.Set(name, strings.Join(vals, ","))
			continue
		}
		if p != nil && p.In == openapi3.ParameterInCookie {
			for _, v := range vals {
				header.Add("Cookie", (&http.Cookie{Name: name, Value: v}).String())
			}
			continue
		}
		if sep := querySeparator(p); sep != "" && len(vals) > 1 {
			vals = []string{strings.Join(vals, sep)}
		}
		query[name] = append(query[name], vals...)
	}

	target := "http://localhost" + path.String()
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	var rd io.Reader = http.NoBody
	hasBody := len(body) > 0 && !isNull(body)
	if hasBody {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, o.method, target, rd)
	if err != nil {
		return nil, fmt.Errorf("cannot build request for %s: %v", o.id, err)
	}
	req.RequestURI = req.URL.RequestURI()
	req.RemoteAddr = "zmq"
	for k, v := range header {
		req.Header[k] = v
	}
	if hasBody {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	return req, nil
}

// querySeparator is how a query array is joined when the parameter is not
// exploded; "" means one key per element.
func querySeparator(p *openapi3.Parameter) string {
	if p == nil || p.In != openapi3.ParameterInQuery {
		return ""
	}
	sm, err := p.SerializationMethod()
	if err != nil || sm.Explode {
		return ""
	}
	switch sm.Style {
	case openapi3.SerializationSpaceDelimited:
		return " "
	case openapi3.SerializationPipeDelimited:
		return "|"
	default:
		return ","
	}
}

func isNull(raw json.RawMessage) bool {
	return string(bytes.TrimSpace(raw)) == "null"
}

// scalar formats a string, number or bool as it would appear in a URL.
func scalar(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "", errors.New("no value")
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", errors.New("invalid string")
		}
		return s, nil
	case 't', 'f':
		var b bool
		if err := json.Unmarshal(raw, &b); err != nil {
			return "", errors.New("invalid value")
		}
		return strconv.FormatBool(b), nil
	case '[', '{', 'n':
		return "", errors.New("want a string, number or boolean")
	default:
		var n json.Number
		if err := json.Unmarshal(raw, &n); err != nil {
			return "", errors.New("invalid number")
		}
		return n.String(), nil
	}
}

// values formats a scalar, or each element of an array of scalars.
func values(raw json.RawMessage) ([]string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '[' {
		v, err := scalar(raw)
		if err != nil {
			return nil, err
		}
		return []string{v}, nil
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(raw, &elems); err != nil {
		return nil, errors.New("invalid array")
	}
	out := make([]string, 0, len(elems))
	for i, e := range elems {
		v, err := scalar(e)
		if err != nil {
			return nil, fmt.Errorf("element %d: %v", i, err)
		}
		out = append(out, v)
	}
	return out, nil
}

// jsonError says what is wrong with a request message in one line.
func jsonError(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return "empty message, want a JSON object"
	case errors.As(err, &se):
		return fmt.Sprintf("invalid JSON at offset %d: %v", se.Offset, se)
	case errors.As(err, &te):
		if te.Field == "" {
			return fmt.Sprintf("want a JSON object, got %s", te.Value)
		}
		return fmt.Sprintf("%s: want %s, got %s", te.Field, te.Type, te.Value)
	default:
		return err.Error()
	}
}

func encodeReply(code int, contentType string, body []byte) []byte {
	r := reply{Code: code}
	mt, _, _ := mime.ParseMediaType(contentType)
	trimmed := bytes.TrimSpace(body)
	switch {
	case len(trimmed) == 0:
		// null body
	case (mt == "" || mt == "application/json" || strings.HasSuffix(mt, "+json")) && json.Valid(trimmed):
		r.Body = trimmed
	default:
		r.ContentType = contentType
		var s string
		if utf8.Valid(body) {
			s = string(body)
		} else {
			s = base64.StdEncoding.EncodeToString(body)
			r.Encoding = "base64"
		}
		r.Body, _ = json.Marshal(s)
	}
	out, err := json.Marshal(r)
	if err != nil { // cannot happen: Body is valid JSON
		return errorReply(http.StatusInternalServerError, "cannot encode reply: "+err.Error())
	}
	return out
}

// errorReply is a reply carrying the REST error body {"code","message"}.
func errorReply(code int, msg string) []byte {
	body, _ := json.Marshal(gen.Error{Code: int32(code), Message: msg})
	out, _ := json.Marshal(reply{Code: code, Body: body})
	return out
}
