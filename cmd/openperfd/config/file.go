// The config file as a koanf.Parser: core: and modules: become dotted
// keys with values of their flags' kinds; resources: is taken aside.

package config

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/knadh/koanf/maps"
	"go.yaml.in/yaml/v3"
)

// fileParser is a koanf.Parser for the YAML config file. It checks every
// key under core: and modules: against the known ones, converts values to
// the kinds of their flags (keeping the literal text of scalars, so
// cpu-mask: 10 stays "10"), records the line of each key for error messages,
// and takes resources: aside in file order.
type fileParser struct {
	path      string
	lines     map[string]int // leaf key -> line
	resources []Resource
	ignored   []string // OpenPerf keys openperfd ignores, "file:line: key"
	unknown   []string // keys nobody knows, "file:line: key"
}

// Marshal is not supported.
func (p *fileParser) Marshal(map[string]any) ([]byte, error) {
	return nil, errors.New("config: marshalling is not supported")
}

// Unmarshal parses the YAML file into a nested koanf map.
func (p *fileParser) Unmarshal(b []byte) (map[string]any, error) {
	p.lines = map[string]int{}
	p.resources, p.ignored, p.unknown = nil, nil, nil
	root, err := p.parseYAML(b)
	if err != nil || root == nil {
		return map[string]any{}, err
	}
	if root.Kind != yaml.MappingNode {
		return nil, p.errorf(root, "the top level must be a map with core:, modules: and resources:")
	}
	flat := map[string]any{}
	if err := p.walk("", root, flat); err != nil {
		return nil, err
	}
	return maps.Unflatten(flat, "."), nil
}

// walk checks the map n found at key path prefix and stores its leaves in flat.
func (p *fileParser) walk(prefix string, n *yaml.Node, flat map[string]any) error {
	es, err := p.mapEntries(n)
	if err != nil {
		return err
	}
	for _, e := range es {
		full := e.key
		if prefix != "" {
			full = prefix + "." + e.key
		}
		v := resolve(e.val)
		switch k, leaf := kinds[full]; {
		case full == keyResources:
			err = p.parseResources(v)
		case leaf:
			err = p.leaf(full, k, e.keyNode, v, flat)
		case branches[full] && isNull(v):
		case branches[full] && v.Kind != yaml.MappingNode:
			err = p.errorf(v, "%s must be a map", full)
		case branches[full]:
			err = p.walk(full, v, flat)
		default:
			p.skip(full, e.keyNode)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// skip records a key openperfd does not read. OpenPerf reads only the keys
// it knows and skips the rest, and warns of unknown top-level nodes: a file
// it takes must start openperfd too. Skipped keys are named in one warning.
func (p *fileParser) skip(full string, key *yaml.Node) {
	at := fmt.Sprintf("%s:%d: %s", p.path, key.Line, full)
	if isIgnored(full) || ignoredBranch(full) || openPerfModuleKey(full) {
		p.ignored = append(p.ignored, at)
	} else {
		p.unknown = append(p.unknown, at+knownUnder(full))
	}
}

// ignoredBranch reports whether key is a map above ignored OpenPerf keys
// only (modules.plugins), so the whole map can be named once.
func ignoredBranch(key string) bool {
	if branches[key] {
		return false
	}
	for k := range ignoredKinds {
		if strings.HasPrefix(k, key+".") {
			return true
		}
	}
	return false
}

// knownUnder suggests the keys valid next to the unknown key full.
func knownUnder(full string) string {
	parent := ""
	for i := len(full) - 1; i > 0; i-- {
		if full[i] == '.' && branches[full[:i]] {
			parent = full[:i]
			break
		}
	}
	seen := map[string]bool{}
	var names []string
	add := func(key string) {
		rest, ok := key, parent == ""
		if parent != "" {
			rest, ok = strings.CutPrefix(key, parent+".")
		}
		if !ok {
			return
		}
		name, _, _ := strings.Cut(rest, ".")
		if !seen[name] {
			seen[name] = true
			names = append(names, name)
		}
	}
	if parent == "" {
		add(keyResources)
	}
	for _, o := range options {
		if o.key != keyConfig && o.key != keyVersion {
			add(o.key)
		}
	}
	sort.Strings(names)
	if parent == "" {
		return fmt.Sprintf(" (top-level keys: %s)", strings.Join(names, ", "))
	}
	return fmt.Sprintf(" (known keys under %s: %s)", parent, strings.Join(names, ", "))
}

// leaf stores the value v of the leaf key full, converted to its kind k,
// in flat. A null value is the same as none.
func (p *fileParser) leaf(full string, k kind, key, v *yaml.Node, flat map[string]any) error {
	if line, dup := p.lines[full]; dup {
		return p.errorf(key, "%s given twice (also on line %d)", full, line)
	}
	p.lines[full] = key.Line
	if isNull(v) {
		return nil
	}
	var val any
	var err error
	switch k {
	case kindString:
		val, err = p.leafString(full, v)
	case kindInt:
		val, err = p.leafInt(full, v)
	case kindBool:
		val, err = p.leafBool(full, v)
	case kindList:
		val, err = p.leafList(full, v)
	case kindMap:
		val, err = p.leafPortIDs(full, v)
	default:
		err = p.errorf(v, "%s: unsupported kind", full)
	}
	if err == nil {
		flat[full] = val
	}
	return err
}

func (p *fileParser) leafString(full string, v *yaml.Node) (any, error) {
	if v.Kind != yaml.ScalarNode {
		return nil, p.errorf(v, "%s must be a string", full)
	}
	return v.Value, nil
}

func (p *fileParser) leafInt(full string, v *yaml.Node) (any, error) {
	if v.Kind != yaml.ScalarNode || (v.ShortTag() != "!!int" && v.ShortTag() != "!!str") {
		return nil, p.errorf(v, "%s must be an integer", full)
	}
	n, err := parseDecimal(v.Value) // not yaml.v3's int: 0x10 and 010 are no ports
	if err != nil {
		return nil, p.errorf(v, "%s: %v", full, err)
	}
	return n, nil
}

// leafBool takes the words OpenPerf does, in any case; yaml.v3's bool
// would also take y and n.
func (p *fileParser) leafBool(full string, v *yaml.Node) (any, error) {
	if v.Kind == yaml.ScalarNode {
		switch strings.ToLower(v.Value) {
		case "true", "yes", "on":
			return true, nil
		case "false", "no", "off":
			return false, nil
		}
	}
	return nil, p.errorf(v, "%s must be true or false", full)
}

func (p *fileParser) leafList(full string, v *yaml.Node) (any, error) {
	switch v.Kind {
	case yaml.ScalarNode:
		return splitEALArgs(v.Value), nil
	case yaml.SequenceNode:
		out := []string{}
		for i, item := range v.Content {
			item = resolve(item)
			if item.Kind != yaml.ScalarNode || isNull(item) {
				return nil, p.errorf(item, "%s: item %d must be a string", full, i)
			}
			out = append(out, item.Value)
		}
		return cleanList(out), nil
	}
	return nil, p.errorf(v, "%s must be a list of strings", full)
}

// leafPortIDs reads port-ids, a map of portN: id or the command line
// string, checking entry by entry to name the right line.
func (p *fileParser) leafPortIDs(full string, v *yaml.Node) (any, error) {
	var set portIDSet
	m := map[string]any{}
	switch v.Kind {
	case yaml.ScalarNode:
		entries, err := splitPortIDs(v.Value)
		if err == nil {
			_, err = portIDMap(entries)
		}
		if err != nil {
			return nil, p.errorf(v, "%s: %v", full, err)
		}
		return v.Value, nil
	case yaml.MappingNode:
		es, err := p.mapEntries(v)
		if err != nil {
			return nil, err
		}
		for _, e := range es {
			id := resolve(e.val)
			if id.Kind != yaml.ScalarNode || isNull(id) {
				return nil, p.errorf(id, "%s.%s: port id must be a string", full, e.key)
			}
			if err := set.add(e.key, id.Value); err != nil {
				return nil, p.errorf(e.keyNode, "%s: %v", full, err)
			}
			m[e.key] = id.Value
		}
		return m, nil
	}
	return nil, p.errorf(v, "%s must be a map of portN: id", full)
}
