package resource

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/openperfd/openperfd/memory"
	"github.com/openperfd/openperfd/packetio"
)

// A widget is a made-up kind: it launches unless its spec says fail, and
// a run ends by itself when the test says so.
type widgetSpec struct {
	id, ep string
	bytes  int64 // per run
	fail   bool  // Launch fails
}

type widgetRun struct {
	ended   bool // ended by itself
	stopped int  // times Stop was called
	from    string
}

type endpoints map[string]Endpoint

func (e endpoints) Endpoint(id string) (Endpoint, error) {
	if ep, ok := e[id]; ok {
		return ep, nil
	}
	return Endpoint{}, fmt.Errorf("no %s: %w", id, packetio.ErrNotFound)
}

var errBadWidget = packetio.New(packetio.ErrInvalid, "invalid widget")

type widgets struct {
	*Lifecycle[widgetSpec, widgetSpec, *widgetRun, string, string]
	launched []string // item ids in launch order
	released []string
}

func newWidgets(budget *memory.Budget) *widgets {
	w := &widgets{}
	w.Lifecycle = New(Hooks[widgetSpec, widgetSpec, *widgetRun, string, string]{
		Kind: "widget", Endpoint: "source", ErrInvalid: errBadWidget,
		IDs:      func(s widgetSpec) (string, string) { return s.id, s.ep },
		Build:    func(s widgetSpec, _ Endpoint) (widgetSpec, error) { return s, nil },
		RunBytes: func(it *Item[widgetSpec, *widgetRun]) (int64, string) { return it.State.bytes, "buffer" },
		Launch: func(it *Item[widgetSpec, *widgetRun], _ string, from *Run[widgetSpec, *widgetRun]) (*widgetRun, error) {
			if it.State.fail {
				return nil, fmt.Errorf("widget %s broke", it.ID)
			}
			w.launched = append(w.launched, it.ID)
			r := &widgetRun{}
			if from != nil {
				r.from = from.Item.ID
			}
			return r, nil
		},
		Stop:    func(_ *Item[widgetSpec, *widgetRun], r *widgetRun) { r.stopped++ },
		Running: func(r *widgetRun) bool { return !r.ended },
		Holds:   func(*widgetRun) int64 { return 1 },
		Release: func(it *Item[widgetSpec, *widgetRun]) { w.released = append(w.released, it.ID) },
		View: func(it *Item[widgetSpec, *widgetRun], active bool) string {
			return fmt.Sprintf("%s@%s active=%v", it.ID, it.EndpointID, active)
		},
		ResultView: func(r *Run[widgetSpec, *widgetRun], active bool) string {
			return fmt.Sprintf("%s active=%v", r.Item.ID, active)
		},
	}, endpoints{"p0": {PortID: "p0"}, "p1": {PortID: "p1"}}, budget)
	return w
}

func mustCreate(t *testing.T, w *widgets, specs ...widgetSpec) {
	t.Helper()
	if _, err := w.Create(specs); err != nil {
		t.Fatal(err)
	}
}

func TestCreateIsAllOrNoneAndNamesTheItem(t *testing.T) {
	w := newWidgets(nil)
	for _, tc := range []struct {
		specs []widgetSpec
		index int // -1: not an item error
		msg   string
	}{
		{[]widgetSpec{{id: "a", ep: "nope"}}, 0, `item 0: source_id: "nope" is neither a port nor an interface: invalid widget`},
		{[]widgetSpec{{id: "a"}}, 0, `item 0: source_id: required: invalid widget`},
		{[]widgetSpec{{id: "a", ep: "p0"}, {id: "b", ep: "nope"}}, 1, `item 1: source_id: "nope" is neither a port nor an interface: invalid widget`},
		{[]widgetSpec{{id: "a", ep: "p0"}, {id: "a", ep: "p1"}}, 1, `item 1: id: "a" already exists: in use`},
	} {
		_, err := w.Create(tc.specs)
		var ie *packetio.ItemError
		if err == nil || err.Error() != tc.msg || errors.As(err, &ie) != (tc.index >= 0) || (ie != nil && ie.Index != tc.index) {
			t.Errorf("create %v: %v; want %q", tc.specs, err, tc.msg)
		}
		if got := w.List(""); len(got) != 0 {
			t.Fatalf("a failed create left %v", got)
		}
	}
	mustCreate(t, w, widgetSpec{id: "a", ep: "p0"}, widgetSpec{ep: "p1"})
	if got := w.List("p0"); !slices.Equal(got, []string{"a@p0 active=false"}) {
		t.Fatalf("list of p0: %v", got)
	}
	if _, err := w.Create([]widgetSpec{{id: "a", ep: "p0"}}); !errors.Is(err, packetio.ErrInUse) {
		t.Fatalf("an existing id: %v", err)
	}
}

func TestAFailedStartLeavesNoRunNorResult(t *testing.T) {
	budget := memory.NewBudget(100)
	w := newWidgets(budget)
	mustCreate(t, w, widgetSpec{id: "a", ep: "p0", bytes: 10}, widgetSpec{id: "b", ep: "p0", bytes: 10, fail: true},
		widgetSpec{id: "big", ep: "p1", bytes: 1000})
	if _, err := w.Start(context.Background(), []string{"a", "b"}); err == nil {
		t.Fatal("b started")
	}
	if _, err := w.Start(context.Background(), []string{"a", "big"}); !errors.Is(err, packetio.ErrOverBudget) || !errors.Is(err, errBadWidget) {
		t.Fatalf("over budget: %v", err)
	}
	if w.Running("a") || len(w.Results("", "")) != 0 || !slices.Equal(w.launched, []string{"a"}) {
		t.Fatalf("after failed starts: running %v, results %v, launched %v", w.Running("a"), w.Results("", ""), w.launched)
	}
	// Nothing is left reserved: the whole budget is there for one run.
	if err := budget.Reserve("probe", 100); err != nil {
		t.Fatalf("the failed starts kept memory: %v", err)
	}
}

func TestStartRefusals(t *testing.T) {
	w := newWidgets(nil)
	mustCreate(t, w, widgetSpec{id: "a", ep: "p0"}, widgetSpec{id: "b", ep: "p0"})
	ctx := context.Background()
	if _, err := w.Start(ctx, []string{"a"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		ids []string
		msg string
	}{
		{[]string{"a"}, "widget a is already running: in use"},
		{[]string{"b", "b"}, "ids: b is listed twice: invalid widget"},
		{[]string{"b", "c"}, "widget c: not found"},
	} {
		if _, err := w.Start(ctx, tc.ids); err == nil || err.Error() != tc.msg {
			t.Errorf("start %v: %v, want %q", tc.ids, err, tc.msg)
		}
	}
	if _, err := w.Restart("b"); err == nil || err.Error() != "widget b is not running: in use" {
		t.Errorf("restart of an idle widget: %v", err)
	}
}

func TestRunningItemsAreNotDeleted(t *testing.T) {
	w := newWidgets(nil)
	mustCreate(t, w, widgetSpec{id: "a", ep: "p0"}, widgetSpec{id: "b", ep: "p0"})
	rs, err := w.Start(context.Background(), []string{"a"})
	if err != nil || !slices.Equal(rs, []string{"a active=true"}) {
		t.Fatalf("start: %v, %v", rs, err)
	}
	if err := w.Delete([]string{"a"}, true); err == nil || err.Error() != "widget a is running; stop it first: in use" {
		t.Fatalf("strict delete of a running widget: %v", err)
	}
	w.DeleteAll()
	if got := w.List(""); !slices.Equal(got, []string{"a@p0 active=true"}) || !slices.Equal(w.released, []string{"b"}) {
		t.Fatalf("delete all left %v, released %v", got, w.released)
	}
	runs := w.Runs("a", "")
	if err := w.DeleteResult(runs[0].ID); !errors.Is(err, packetio.ErrInUse) {
		t.Fatalf("delete of the running result: %v", err)
	}
}

// A run that ended by itself is no longer running: its item can be
// deleted, and it is taken off the data plane exactly once.
func TestARunThatEndedByItselfIsStoppedOnce(t *testing.T) {
	w := newWidgets(nil)
	mustCreate(t, w, widgetSpec{id: "a", ep: "p0"})
	ctx := context.Background()
	if _, err := w.Start(ctx, []string{"a"}); err != nil {
		t.Fatal(err)
	}
	first := w.Runs("a", "")[0].State
	first.ended = true
	if w.Running("a") || w.Results("a", "")[0] != "a active=false" {
		t.Fatalf("an ended run still shows running")
	}
	if _, err := w.Start(ctx, []string{"a"}); err != nil { // takes the ended run off first
		t.Fatal(err)
	}
	if first.stopped != 1 {
		t.Fatalf("the ended run was stopped %d times", first.stopped)
	}
	second := w.Runs("a", "")[1].State
	second.ended = true
	if err := w.DeleteResult(w.Runs("a", "")[1].ID); err != nil || second.stopped != 1 {
		t.Fatalf("delete of an ended result: %v, stopped %d times", err, second.stopped)
	}
	w.Finish(w.Runs("a", "")[0].ID) // no longer current: nothing happens
	if err := w.Delete([]string{"a"}, true); err != nil || len(w.Results("", "")) != 0 || first.stopped != 1 {
		t.Fatalf("delete: %v, results %v, stopped %d", err, w.Results("", ""), first.stopped)
	}
}

func TestReplaceHandsOverTheOldRun(t *testing.T) {
	w := newWidgets(nil)
	mustCreate(t, w, widgetSpec{id: "a", ep: "p0"}, widgetSpec{id: "b", ep: "p0"})
	ctx := context.Background()
	if _, err := w.Replace(ctx, "a", "b"); err == nil || err.Error() != "replace: widget a is not running: invalid widget" {
		t.Fatalf("replace of an idle widget: %v", err)
	}
	if _, err := w.Start(ctx, []string{"a"}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Replace(ctx, "a", "b"); err != nil {
		t.Fatal(err)
	}
	if w.Running("a") || !w.Running("b") || w.Runs("b", "")[0].State.from != "a" {
		t.Fatalf("after replace: a %v, b %v", w.Running("a"), w.Running("b"))
	}
	w.Finish(w.Runs("b", "")[0].ID)
	if w.Running("b") {
		t.Fatal("Finish left b running")
	}
}

// AnyRunning follows the runs, and BeforeStart's function runs before
// each start, before the item launches.
func TestAnyRunningAndBeforeStart(t *testing.T) {
	w := newWidgets(nil)
	mustCreate(t, w, widgetSpec{id: "a", ep: "p0"})
	var order []string
	w.BeforeStart(func() { order = append(order, fmt.Sprintf("before (launched %d)", len(w.launched))) })
	if w.AnyRunning() {
		t.Fatal("running before any start")
	}
	if _, err := w.Start(context.Background(), []string{"a"}); err != nil {
		t.Fatal(err)
	}
	if !w.AnyRunning() || !slices.Equal(order, []string{"before (launched 0)"}) {
		t.Fatalf("after start: running %v, calls %v", w.AnyRunning(), order)
	}
	w.Stop([]string{"a"})
	if w.AnyRunning() {
		t.Fatal("running after stop")
	}
}
