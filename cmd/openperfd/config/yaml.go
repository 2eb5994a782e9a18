// The config file's YAML, read with yaml.v3.
//
// yaml.v3 parses the file and does what YAML defines: anchors and aliases,
// << merge keys, the rejection of duplicate keys, and a bound on alias
// expansion ("excessive aliasing", which stops alias bombs; see
// TestLoadRejectsAliasBomb and TestLoadRejectsMergeBomb). Each map this
// package reads is decoded by yaml.v3 first, so yaml.v3 checks it, and its
// errors are turned into this package's one-line messages.
//
// Kept from the hand-written reader: mergedEntries, the entries of a
// checked map in file order with their key nodes, merged maps expanded.
// yaml.v3 decodes a map only into a Go map or struct, which keep neither
// the order of the keys nor the line each key stands on, and both are
// needed: resource bodies keep the file's member order
// (TestLoadReadsNestedYAMLFile, TestLoadKeepsResourcesInFileOrder), and
// messages name the line of a key whose value starts on the next line
// (TestLoadTakesOpenPerfsConfigFiles wants ":10: modules.network").

package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// maxNesting is the deepest nesting of << merges, and of a resource body.
const maxNesting = 64

// parseYAML parses a config file of one YAML document and returns its
// root node, or nil when the document is empty or null.
func (p *fileParser) parseYAML(b []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, fmt.Errorf("%s: %v", p.path, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, fmt.Errorf("%s: %v", p.path, err)
		}
		return nil, fmt.Errorf("%s:%d: more than one YAML document", p.path, extra.Line)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) != 1 {
			return nil, nil
		}
		root = root.Content[0]
	}
	if root = resolve(root); isNull(root) {
		return nil, nil
	}
	return root, nil
}

// entry is one key of a YAML map with its value.
type entry struct {
	key     string
	keyNode *yaml.Node
	val     *yaml.Node
}

// mapEntries has yaml.v3 check the map n (duplicate keys, merges,
// aliases, expansion) and returns its entries as mergedEntries does.
func (p *fileParser) mapEntries(n *yaml.Node) ([]entry, error) {
	var checked map[string]yaml.Node // values are not decoded, only the map and its merges
	if err := n.Decode(&checked); err != nil {
		if isCycle(err) { // through a merge: the values were not followed
			return nil, p.errorf(n, "<< merges nested deeper than %d (%v)", maxNesting, err)
		}
		return nil, p.yamlError(n, err)
	}
	return p.mergedEntries(n, 0)
}

// mergedEntries returns the entries of a map yaml.v3 has checked, in file
// order, with each << key replaced by the entries of the maps it merges
// that are not given already: the map's own keys win, then earlier merged
// maps, as in yaml.v3.
func (p *fileParser) mergedEntries(n *yaml.Node, depth int) ([]entry, error) {
	if depth > maxNesting {
		return nil, p.errorf(n, "<< merges nested deeper than %d", maxNesting)
	}
	given := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := resolve(n.Content[i]); !isMerge(k) {
			given[k.Value] = true
		}
	}
	var out []entry
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := resolve(n.Content[i])
		if !isMerge(k) {
			out = append(out, entry{k.Value, k, n.Content[i+1]})
			continue
		}
		for _, src := range mergeSources(n.Content[i+1]) {
			sub, err := p.mergedEntries(src, depth+1)
			if err != nil {
				return nil, err
			}
			for _, e := range sub {
				if !given[e.key] {
					given[e.key] = true
					out = append(out, e)
				}
			}
		}
	}
	return out, nil
}

// mergeSources returns the maps a << key's value v merges.
func mergeSources(v *yaml.Node) []*yaml.Node {
	if v = resolve(v); v.Kind != yaml.SequenceNode {
		return []*yaml.Node{v}
	}
	out := make([]*yaml.Node, len(v.Content))
	for i, s := range v.Content {
		out[i] = resolve(s)
	}
	return out
}

var (
	typeErrorRE = regexp.MustCompile(`^line (\d+): (.*)$`)
	duplicateRE = regexp.MustCompile(`^mapping key (".*") already defined at line \d+$`)
)

// yamlError turns an error of yaml.v3 decoding node n into a message with
// the file name and a line, in this package's words where it has its own.
func (p *fileParser) yamlError(n *yaml.Node, err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		m := typeErrorRE.FindStringSubmatch(te.Errors[0])
		if m == nil {
			return p.errorf(n, "%s", te.Errors[0])
		}
		msg := m[2]
		if d := duplicateRE.FindStringSubmatch(msg); d != nil {
			msg = "key " + d[1] + " given twice"
		} else if strings.HasPrefix(msg, "cannot unmarshal !!seq") || strings.HasPrefix(msg, "cannot unmarshal !!map") {
			msg = "map keys must be scalars" // only keys are decoded into strings here
		}
		return fmt.Errorf("%s:%s: %s", p.path, m[1], msg)
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "excessive aliasing"):
		return p.errorf(n, "too much alias expansion (%v)", err)
	case strings.Contains(msg, "map merge requires"):
		return p.errorf(n, "<< wants a map or a list of maps")
	case strings.Contains(msg, "invalid map key"):
		return p.errorf(n, "map keys must be scalars")
	}
	return p.errorf(n, "%v", err)
}

// isCycle reports whether err is yaml.v3's for an alias inside its own
// anchor, which would nest without end.
func isCycle(err error) bool {
	return strings.HasSuffix(err.Error(), "value contains itself")
}

func (p *fileParser) errorf(n *yaml.Node, format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s", p.path, n.Line, fmt.Sprintf(format, args...))
}

// resolve returns the node an alias stands for (yaml.v3 links it), or n.
func resolve(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		return n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

func isMerge(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.Value == "<<" && k.ShortTag() == "!!merge"
}
