package rest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// stateChanging reports whether a method may change the daemon's state.
func stateChanging(method string) bool {
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}

// requireJSON answers 415 to a state-changing request that carries a body
// that is not declared JSON, or declares another content type without a
// body. A browser page may send a form, text or an untyped blob to any
// address without asking first (a "simple" request), but never
// application/json; demanding it keeps pages from driving the daemon.
// A POST without body and without Content-Type (curl -X POST, our opctl)
// and one with "application/json" and no body (OpenPerf's Swagger client)
// both pass.
func requireJSON(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		if !stateChanging(req.Method) {
			return next(c)
		}
		ct := req.Header.Get(echo.HeaderContentType)
		hasBody := req.ContentLength != 0 && req.Body != nil && req.Body != http.NoBody
		if ct == "" && !hasBody {
			return next(c)
		}
		if !isJSONType(ct) {
			return &apiError{status: http.StatusUnsupportedMediaType, msg: fmt.Sprintf(
				"Content-Type %q: %s requests take application/json", ct, req.Method)}
		}
		return next(c)
	}
}

// isJSONType reports whether a Content-Type value names JSON.
func isJSONType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// strictJSON reads a state-changing request's body and answers 400 unless
// it is exactly one JSON value whose objects name each member once.
// encoding/json (and so the handlers) would take the first of two
// concatenated values and the last of two equal keys, so a body could
// mean one thing to a proxy or log reader and another to the daemon. The
// checked body is put back for the handlers; limitBody bounds its size.
func strictJSON(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		if !stateChanging(req.Method) || req.Body == nil || req.Body == http.NoBody || req.ContentLength == 0 {
			return next(c)
		}
		body, err := io.ReadAll(req.Body)
		if err != nil {
			if mb := (*http.MaxBytesError)(nil); errors.As(err, &mb) {
				return err // statusOf answers 413
			}
			return &apiError{status: http.StatusBadRequest, msg: "reading the request body: " + firstLine(err)}
		}
		_ = req.Body.Close()
		if err := checkStrictJSON(body); err != nil {
			return &apiError{status: http.StatusBadRequest, msg: "invalid request body: " + err.Error()}
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.ContentLength = int64(len(body))
		return next(c)
	}
}

// checkStrictJSON returns why b is not exactly one JSON value without
// duplicate object keys, or nil. An empty body is left to the handlers
// (a body-less POST may carry a JSON Content-Type).
func checkStrictJSON(b []byte) error {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	if !json.Valid(b) {
		return describeInvalid(b)
	}
	return findDuplicateKey(b)
}

// describeInvalid names what is wrong with a body json.Valid refused:
// trailing data after one complete value, or a syntax error.
func describeInvalid(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	var v json.RawMessage
	if err := dec.Decode(&v); err != nil {
		return fmt.Errorf("not valid JSON: %s", firstLine(err))
	}
	off := dec.InputOffset()
	if dec.More() {
		var next json.RawMessage
		if dec.Decode(&next) == nil {
			return fmt.Errorf("more than one JSON value (a second one starts after byte %d); send exactly one", off)
		}
	}
	return fmt.Errorf("unexpected data after the JSON value at byte %d; send exactly one JSON value", off)
}

// findDuplicateKey walks a valid JSON document and reports the first
// object that names a member twice, with its path. It allocates only for
// keys with escapes and for objects with many members, so a bulk-create
// of 100k interfaces costs little on top of its decoding.
func findDuplicateKey(b []byte) error {
	var (
		stack []jsonFrame
		keys  [][]byte // keys of the open objects, innermost last
	)
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '{':
			stack = append(stack, jsonFrame{obj: true, first: len(keys), keyNow: true})
		case '[':
			stack = append(stack, jsonFrame{})
		case '}', ']':
			if top := stack[len(stack)-1]; top.obj {
				keys = keys[:top.first]
			}
			stack = stack[:len(stack)-1]
		case ',':
			if top := &stack[len(stack)-1]; top.obj {
				top.keyNow = true
			} else {
				top.index++
			}
		case '"':
			// A key with escapes or non-ASCII bytes is compared decoded,
			// as encoding/json decodes it: "\u0061" is "a", and invalid
			// UTF-8 becomes U+FFFD, so two such keys are one.
			j, escaped := i+1, false
			for b[j] != '"' {
				if b[j] == '\\' {
					escaped = true
					j++
				} else if b[j] >= 0x80 {
					escaped = true
				}
				j++
			}
			if n := len(stack); n > 0 && stack[n-1].obj && stack[n-1].keyNow {
				top := &stack[n-1]
				top.keyNow = false
				k := b[i+1 : j]
				if escaped {
					var s string
					_ = json.Unmarshal(b[i:j+1], &s) // cannot fail: json.Valid passed
					k = []byte(s)
				}
				if top.seen(k, keys) {
					return fmt.Errorf("duplicate key %q in the object at %s", k, jsonPath(stack[:n-1]))
				}
				top.key = string(k)
				if top.set == nil {
					keys = append(keys, k)
				}
			}
			i = j
		}
	}
	return nil
}

// jsonFrame is an open object or array of findDuplicateKey's walk.
type jsonFrame struct {
	obj    bool
	keyNow bool            // the next string is a member name
	first  int             // index of the object's first key in the shared list
	n      int             // keys so far
	set    map[string]bool // the keys, once the object has many
	key    string          // the member being read, for paths
	index  int             // the array element being read, for paths
}

// linearKeys is how many members an object has before its keys move from
// a linear scan to a map.
const linearKeys = 16

// seen reports whether k was already a key of the object, and records it
// in the map once the object has many keys (the caller appends it to the
// shared list otherwise).
func (f *jsonFrame) seen(k []byte, keys [][]byte) bool {
	f.n++
	if f.set == nil && f.n > linearKeys {
		f.set = make(map[string]bool, 2*linearKeys)
		for _, x := range keys[f.first:] {
			f.set[string(x)] = true
		}
	}
	if f.set != nil {
		if f.set[string(k)] {
			return true
		}
		f.set[string(k)] = true
		return false
	}
	for _, x := range keys[f.first:] {
		if bytes.Equal(x, k) {
			return true
		}
	}
	return false
}

// jsonPath names the value the frames lead to ("config.protocols[1]"),
// or "the top level".
func jsonPath(frames []jsonFrame) string {
	var sb strings.Builder
	for _, f := range frames {
		if f.obj {
			if sb.Len() > 0 {
				sb.WriteByte('.')
			}
			sb.WriteString(f.key)
		} else {
			fmt.Fprintf(&sb, "[%d]", f.index)
		}
	}
	if sb.Len() == 0 {
		return "the top level"
	}
	return sb.String()
}
