package config

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// mergeBomb returns YAML whose key at names a map merging 10^12 copies of
// a small map through 12 levels of << merges.
func mergeBomb(at string) string {
	var b strings.Builder
	b.WriteString("m0: &m0 {k0: v, k1: v, k2: v}\n")
	for i := 1; i < 12; i++ {
		tenOfPrev := strings.Repeat(fmt.Sprintf("*m%d, ", i-1), 10)
		fmt.Fprintf(&b, "m%d: &m%d {<<: [%s]}\n", i, i, strings.TrimSuffix(tenOfPrev, ", "))
	}
	return b.String() + at + ": {<<: *m11}\n"
}

// yaml.v3 bounds alias expansion itself: a map this package reads that
// merges a bomb is rejected by yaml.v3's "excessive aliasing" check.
func TestLoadRejectsMergeBomb(t *testing.T) {
	for _, at := range []string{"core", "modules", "resources"} {
		_, err := Load([]string{"-c", writeConfig(t, mergeBomb(at))})
		if err == nil || !strings.Contains(err.Error(), "alias expansion") {
			t.Errorf("%s: err = %v, want an alias expansion error", at, err)
		}
	}
}

// A bomb under a key openperfd does not read is not expanded, as before:
// the key is only named in the warning.
func TestLoadSkipsBombUnderUnknownKey(t *testing.T) {
	cfg := mustLoad(t, "-c", writeConfig(t, mergeBomb("shims")))
	if len(cfg.Unknown) != 13 || !strings.Contains(cfg.Unknown[12], ": shims (top-level keys") {
		t.Errorf("Unknown = %q", cfg.Unknown)
	}
}

// mergedEntries must pick the same value for each key as yaml.v3 does
// when it decodes the map, and keep the file's order.
func TestMergedEntriesAgreeWithYAMLv3(t *testing.T) {
	const doc = `a: &a {x: 1, c: 2}
b: &b {y: 2, c: 3, <<: {z: 9, x: 8}}
tests:
  - {k: 0, <<: {k: 1, j: 2}}
  - {<<: [*a, *b], k: v, c: 0}
  - {<<: [*b, *a]}
  - {<<: {<<: {<<: *a, p: 7}, q: 1}, p: 0}
  - {first: 1, <<: *a, last: 2}
`
	// A key the map gives itself stands where it is given; merged ones
	// stand at their <<, first merged first.
	wantOrder := [][]string{{"k", "j"}, {"x", "y", "z", "k", "c"}, {"y", "c", "z", "x"}, {"x", "c", "q", "p"}, {"first", "x", "c", "last"}}
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(doc), &root); err != nil {
		t.Fatal(err)
	}
	tests := root.Content[0].Content[5].Content
	p := &fileParser{path: "doc"}
	for i, n := range tests {
		var want map[string]any
		if err := n.Decode(&want); err != nil {
			t.Fatal(err)
		}
		es, err := p.mapEntries(n)
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		got := map[string]any{}
		var order []string
		for _, e := range es {
			var v any
			if err := e.val.Decode(&v); err != nil {
				t.Fatal(err)
			}
			got[e.key] = v
			order = append(order, e.key)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%d: entries %v, yaml.v3 decodes %v", i, got, want)
		}
		if !reflect.DeepEqual(order, wantOrder[i]) {
			t.Errorf("%d: order %q, want %q", i, order, wantOrder[i])
		}
	}
}

// Every option but -c and -v is a koanf tag of exactly one Config field,
// so that koanf decodes it.
func TestEveryOptionHasAConfigField(t *testing.T) {
	tags := map[string]int{}
	var collect func(reflect.Type)
	collect = func(rt reflect.Type) {
		for f := range rt.Fields() {
			tag := f.Tag.Get("koanf")
			switch {
			case tag == ",squash":
				collect(f.Type)
			case tag != "-" && tag != "":
				tags[tag]++
			}
		}
	}
	collect(reflect.TypeFor[Config]())
	for _, o := range options {
		if o.key == keyConfig || o.key == keyVersion {
			continue
		}
		if tags[o.key] != 1 {
			t.Errorf("--%s is the koanf tag of %d Config fields, want 1", o.key, tags[o.key])
		}
		delete(tags, o.key)
	}
	for tag := range tags {
		t.Errorf("koanf tag %q is no option", tag)
	}
}
