// The config file's resources: section, the objects the daemon creates at
// start, each turned into the JSON body the REST API takes.

package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

var segmentRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// splitResourcePath checks a resources: key and splits it into collection
// and id.
func splitResourcePath(path string) (collection, id string, err error) {
	const want = "want /<collection>/<id> with letters, digits, '.', '_' or '-'"
	rest, ok := strings.CutPrefix(path, "/")
	i := strings.LastIndexByte(rest, '/')
	if !ok || i < 0 {
		return "", "", fmt.Errorf("resource path %q: %s", path, want)
	}
	collection, id = rest[:i], rest[i+1:]
	for _, seg := range strings.Split(collection, "/") {
		if !segmentRE.MatchString(seg) {
			return "", "", fmt.Errorf("resource path %q: %s", path, want)
		}
	}
	if !idRE.MatchString(id) || id == "." || id == ".." {
		return "", "", fmt.Errorf("resource path %q: %s", path, want)
	}
	return collection, id, nil
}

// parseResources reads the resources: map n into p.resources, in file order.
func (p *fileParser) parseResources(n *yaml.Node) error {
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return p.errorf(n, "resources must be a map of /<collection>/<id>: object")
	}
	es, err := p.mapEntries(n)
	if err != nil {
		return err
	}
	for _, e := range es {
		r, err := p.resource(e)
		if err != nil {
			return err
		}
		p.resources = append(p.resources, r)
	}
	return nil
}

// resource reads one entry of resources:. yaml.v3 checks the whole body
// first (decoding it, which bounds its alias expansion); then it is
// written out as JSON in file order.
func (p *fileParser) resource(e entry) (Resource, error) {
	coll, id, err := splitResourcePath(e.key)
	if err != nil {
		return Resource{}, p.errorf(e.keyNode, "resources: %v", err)
	}
	body := resolve(e.val)
	if body.Kind != yaml.MappingNode {
		return Resource{}, p.errorf(body, "resource %q must be a map", e.key)
	}
	var checked any
	if err := body.Decode(&checked); err != nil {
		if isCycle(err) {
			return Resource{}, p.errorf(body, "resource %q: nested deeper than %d levels (%v)", e.key, maxNesting, err)
		}
		return Resource{}, p.yamlError(body, err)
	}
	w := jsonWriter{p: p, res: e.key}
	if err := w.object(body, 1, id); err != nil {
		return Resource{}, err
	}
	return Resource{Path: e.key, Collection: coll, ID: id, Body: json.RawMessage(w.buf.Bytes())}, nil
}

// jsonWriter writes a resource body yaml.v3 has checked as JSON, keeping
// the order of map keys (which decoding into Go maps would lose).
type jsonWriter struct {
	p   *fileParser
	res string // the resource path, for messages
	buf bytes.Buffer
}

// object writes map n. At the top of a resource (id != "") an "id" member
// equal to id is dropped and a different one rejected.
func (w *jsonWriter) object(n *yaml.Node, depth int, id string) error {
	es, err := w.p.mergedEntries(n, 0)
	if err != nil {
		return err
	}
	w.buf.WriteByte('{')
	first := true
	for _, e := range es {
		if id != "" && e.key == "id" {
			if v := resolve(e.val); v.Kind != yaml.ScalarNode || v.Value != id {
				return w.p.errorf(e.keyNode, "resource %q: id must be left out or equal %q", w.res, id)
			}
			continue
		}
		if !first {
			w.buf.WriteByte(',')
		}
		first = false
		writeJSONString(&w.buf, e.key)
		w.buf.WriteByte(':')
		if err := w.value(e.val, depth+1); err != nil {
			return err
		}
	}
	w.buf.WriteByte('}')
	return nil
}

// value writes the YAML value n.
func (w *jsonWriter) value(n *yaml.Node, depth int) error {
	n = resolve(n)
	if depth > maxNesting {
		return w.p.errorf(n, "resource %q: nested deeper than %d levels", w.res, maxNesting)
	}
	switch n.Kind {
	case yaml.MappingNode:
		return w.object(n, depth, "")
	case yaml.SequenceNode:
		w.buf.WriteByte('[')
		for i, item := range n.Content {
			if i > 0 {
				w.buf.WriteByte(',')
			}
			if err := w.value(item, depth+1); err != nil {
				return err
			}
		}
		w.buf.WriteByte(']')
		return nil
	case yaml.ScalarNode:
		return w.scalar(n)
	}
	return w.p.errorf(n, "resource %q: unexpected YAML node", w.res)
}

// scalar writes a scalar as yaml.v3 reads it: null, bool and numbers as
// such, anything else as a string.
func (w *jsonWriter) scalar(n *yaml.Node) error {
	switch n.ShortTag() {
	case "!!null":
		w.buf.WriteString("null")
		return nil
	case "!!bool", "!!int", "!!float":
		var v any
		if err := n.Decode(&v); err != nil {
			return w.p.errorf(n, "resource %q: bad %s %q", w.res, n.ShortTag()[2:], n.Value)
		}
		if x, ok := v.(float64); ok && (math.IsInf(x, 0) || math.IsNaN(x)) {
			return w.p.errorf(n, "resource %q: %s has no JSON form", w.res, n.Value)
		}
		b, err := json.Marshal(v)
		if err != nil {
			return w.p.errorf(n, "resource %q: %v", w.res, err)
		}
		w.buf.Write(b)
		return nil
	}
	writeJSONString(&w.buf, n.Value)
	return nil
}

func writeJSONString(buf *bytes.Buffer, s string) {
	b, _ := json.Marshal(s) // cannot fail for a string
	buf.Write(b)
}
