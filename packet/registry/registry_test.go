package registry

import (
	"errors"
	"slices"
	"testing"

	"github.com/openperfd/openperfd/packetio"
)

func TestOrderedKeepsCreationOrder(t *testing.T) {
	var o Ordered[int]
	o.Add("b", 1)
	o.Add("a", 2)
	o.Add("c", 3)
	o.Add("b", 4) // keeps its place
	if got := o.IDs(); !slices.Equal(got, []string{"b", "a", "c"}) {
		t.Fatalf("ids %v", got)
	}
	if v, ok := o.Get("b"); !ok || v != 4 {
		t.Fatalf("b = %d, %v", v, ok)
	}
	o.Delete("a")
	o.Delete("nope")
	o.DeleteFunc(func(v int) bool { return v == 3 })
	if o.Len() != 1 || o.Value("c") != 0 {
		t.Fatalf("after deletes: %v", o.IDs())
	}
	if err := o.AddAll([]string{"x", "x"}, []int{1, 2}); err == nil || o.Len() != 1 {
		t.Fatalf("a repeated id: %v, %d values", err, o.Len())
	}
	err := o.AddAll([]string{"y", "b"}, []int{1, 2})
	var ie *packetio.ItemError
	if !errors.As(err, &ie) || ie.Index != 1 || !errors.Is(err, packetio.ErrInUse) || o.Len() != 1 {
		t.Fatalf("an existing id: %v, %d values", err, o.Len())
	}
	if err := o.AddAll([]string{"y", "z"}, []int{5, 6}); err != nil {
		t.Fatal(err)
	}
	var seen []string
	for id, v := range o.All() {
		seen = append(seen, id)
		_ = v
	}
	if !slices.Equal(seen, []string{"b", "y", "z"}) {
		t.Fatalf("All %v", seen)
	}
}
