package rest

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/openperfd/openperfd/packetio"
)

// lifecycle is what every resource's service does: packet/resource's
// Lifecycle as the API uses it, with specs S and views V and RV.
type lifecycle[S, V, RV any] interface {
	Create(specs []S) ([]V, error)
	List(endpointID string) []V
	Get(id string) (V, error)
	Delete(ids []string, strict bool) error
	DeleteAll()
	Start(ctx context.Context, ids []string) ([]RV, error)
	Stop(ids []string)
	StopOne(id string) error
	Results(itemID, endpointID string) []RV
	Result(id string) (RV, error)
	DeleteResult(id string) error
	DeleteResults()
}

// kind is one resource (generators, analyzers, captures) to the generic
// handlers below, which do what every resource does the same way; each
// resource's file holds only its JSON and what is its own. J and JR are
// the API's item and result.
type kind[S, V, RV, J, JR any] struct {
	svc lifecycle[S, V, RV] // nil when the module is not loaded
	// noun names the resource ("analyzer"): its module ("the packet
	// analyzer module") and its paths (/packet/analyzers/,
	// /packet/analyzer-results/).
	noun string
	// fromJSON turns a request item into a spec; where prefixes field
	// names in errors ("items[2]" in a bulk request).
	fromJSON   func(in *J, where string) (S, error)
	toJSON     func(V) J
	resultJSON func(RV) JR
	id         func(V) string
	resultID   func(RV) string
}

// lifecycleOf is a module's service as a lifecycle, nil when the module
// is not loaded (svc nil): a nil pointer in an interface would not be nil.
func lifecycleOf[S, V, RV any, T any, P interface {
	*T
	lifecycle[S, V, RV]
}](svc P) lifecycle[S, V, RV] {
	if svc == nil {
		return nil
	}
	return svc
}

// startWait bounds how long a start waits for an item to become ready (a
// generator still learning).
const startWait = 15 * time.Second

// fieldIn names the fields of a request item; where ("items[2]" in a bulk
// request) prefixes them.
func fieldIn(where string) func(string) string {
	return func(f string) string {
		if where == "" {
			return f
		}
		return where + "." + f
	}
}

// itemHead checks a request item's id (nil: the server picks one) and its
// endpoint id (required; its field is epField). It returns how the item's
// fields are named (fieldIn(where)) and the id, "" when the server picks
// it.
func itemHead(where string, id *string, epField, endpointID string) (func(string) string, string, error) {
	field := fieldIn(where)
	if id != nil {
		if err := checkID(field("id"), *id); err != nil {
			return field, "", err
		}
	}
	if endpointID == "" {
		return field, "", badRequest("%s: required", field(epField))
	}
	return field, deref(id), nil
}

// service returns the kind's service, or the 404 of a module not loaded.
func (k *kind[S, V, RV, J, JR]) service() (lifecycle[S, V, RV], error) {
	if k.svc == nil {
		return nil, &apiError{status: http.StatusNotFound, msg: "the packet " + k.noun + " module is not loaded"}
	}
	return k.svc, nil
}

// ready is nil when the kind's module is loaded, else its 404.
func (k *kind[S, V, RV, J, JR]) ready() error {
	_, err := k.service()
	return err
}

// path is the Location of item id; resultPath of result id.
func (k *kind[S, V, RV, J, JR]) path(id string) string { return "/packet/" + k.noun + "s/" + id }

func (k *kind[S, V, RV, J, JR]) resultPath(id string) string {
	return "/packet/" + k.noun + "-results/" + id
}

// ownPage is a page of a listing of a kind's own objects (flows).
type ownPage struct {
	off, lim int
	none     bool // a filter is empty: it matches nothing
	err      error
}

// page is the page of a listing of the kind's own objects.
func (k *kind[S, V, RV, J, JR]) page(offset, limit *int64, filters ...*string) ownPage {
	pg := ownPage{err: k.ready(), none: emptyFilter(filters...)}
	if pg.err == nil {
		pg.off, pg.lim, pg.err = page(offset, limit)
	}
	return pg
}

// listOwn answers a listing of a kind's own objects: empty (with pg's
// error, if any) or what list makes of the page.
func listOwn[R any](pg ownPage, empty R, list func(off, lim int) R) (R, error) {
	if pg.err != nil || pg.none {
		return empty, pg.err
	}
	return list(pg.off, pg.lim), nil
}

// getOwn returns one of a kind's own objects (a flow) as JSON, once the
// kind's module is ready.
func getOwn[T, J any](ready error, get func(string) (T, error), id string, toJSON func(T) J) (J, error) {
	var zero J
	if ready != nil {
		return zero, ready
	}
	v, err := get(id)
	if err != nil {
		return zero, err
	}
	return toJSON(v), nil
}

func mapSlice[T, U any](in []T, f func(T) U) []U {
	out := make([]U, len(in))
	for i, v := range in {
		out[i] = f(v)
	}
	return out
}

// create makes items, all or none; bulk names them by index in errors.
func (k *kind[S, V, RV, J, JR]) create(items []J, bulk bool) ([]J, error) {
	svc, err := k.service()
	if err != nil {
		return nil, err
	}
	specs := make([]S, len(items))
	for i := range items {
		where := ""
		if bulk {
			where = "items[" + itoa(i) + "]"
		}
		if specs[i], err = k.fromJSON(&items[i], where); err != nil {
			return nil, err
		}
	}
	views, err := svc.Create(specs)
	if err != nil {
		return nil, err
	}
	return mapSlice(views, k.toJSON), nil
}

// createOne makes one item and returns its Location.
func (k *kind[S, V, RV, J, JR]) createOne(in *J) (J, string, error) {
	var zero J
	svc, err := k.service()
	if err != nil {
		return zero, "", err
	}
	sp, err := k.fromJSON(in, "")
	if err != nil {
		return zero, "", err
	}
	views, err := svc.Create([]S{sp})
	if err != nil {
		return zero, "", single(err)
	}
	return k.toJSON(views[0]), k.path(k.id(views[0])), nil
}

// single drops the item index from the error of a request that sent one
// object, not a list: its fields are named from the object's root ("id",
// not "items[0].id"), as the client wrote them.
func single(err error) error {
	var ie *packetio.ItemError
	if errors.As(err, &ie) && ie.Index == 0 {
		return ie.Err
	}
	return err
}

// list lists the items of one endpoint, or all.
func (k *kind[S, V, RV, J, JR]) list(endpointID *string) ([]J, error) {
	svc, err := k.service()
	if err != nil || emptyFilter(endpointID) {
		return []J{}, err
	}
	return mapSlice(svc.List(deref(endpointID)), k.toJSON), nil
}

func (k *kind[S, V, RV, J, JR]) get(id string) (J, error) {
	var zero J
	svc, err := k.service()
	if err != nil {
		return zero, err
	}
	v, err := svc.Get(id)
	if err != nil {
		return zero, err
	}
	return k.toJSON(v), nil
}

// deleteOne deletes one item; a running one is an error.
func (k *kind[S, V, RV, J, JR]) deleteOne(id string) error {
	svc, err := k.service()
	if err != nil {
		return err
	}
	return svc.Delete([]string{id}, true)
}

// deleteMany deletes items, leaving running ones.
func (k *kind[S, V, RV, J, JR]) deleteMany(ids []string) error {
	svc, err := k.service()
	if err == nil {
		err = checkIDs("ids", ids)
	}
	if err != nil {
		return err
	}
	return svc.Delete(ids, false)
}

func (k *kind[S, V, RV, J, JR]) deleteAll() error {
	svc, err := k.service()
	if err != nil {
		return err
	}
	svc.DeleteAll()
	return nil
}

// startOne starts one item and returns its result and the result's
// Location.
func (k *kind[S, V, RV, J, JR]) startOne(ctx context.Context, id string) (JR, string, error) {
	rs, err := k.start(ctx, []string{id})
	if err != nil {
		var zero JR
		return zero, "", err
	}
	return k.resultJSON(rs[0]), k.resultPath(k.resultID(rs[0])), nil
}

// startMany starts items, all or none.
func (k *kind[S, V, RV, J, JR]) startMany(ctx context.Context, ids []string) ([]JR, error) {
	err := k.ready()
	if err == nil {
		err = checkIDs("ids", ids)
	}
	if err != nil {
		return nil, err
	}
	rs, err := k.start(ctx, ids)
	if err != nil {
		return nil, err
	}
	return mapSlice(rs, k.resultJSON), nil
}

func (k *kind[S, V, RV, J, JR]) start(ctx context.Context, ids []string) ([]RV, error) {
	svc, err := k.service()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, startWait)
	defer cancel()
	return svc.Start(ctx, ids)
}

// stopOne stops one item. Stopping what does not exist leaves it
// stopped: no error, as in OpenPerf.
func (k *kind[S, V, RV, J, JR]) stopOne(id string) error {
	svc, err := k.service()
	if err != nil {
		return err
	}
	if err := svc.StopOne(id); err != nil && !errors.Is(err, packetio.ErrNotFound) {
		return err
	}
	return nil
}

func (k *kind[S, V, RV, J, JR]) stopMany(ids []string) error {
	svc, err := k.service()
	if err == nil {
		err = checkIDs("ids", ids)
	}
	if err != nil {
		return err
	}
	svc.Stop(ids)
	return nil
}

// results lists the results of one item and/or endpoint, or all.
func (k *kind[S, V, RV, J, JR]) results(itemID, endpointID *string) ([]JR, error) {
	svc, err := k.service()
	if err != nil || emptyFilter(itemID, endpointID) {
		return []JR{}, err
	}
	return mapSlice(svc.Results(deref(itemID), deref(endpointID)), k.resultJSON), nil
}

func (k *kind[S, V, RV, J, JR]) result(id string) (JR, error) {
	var zero JR
	svc, err := k.service()
	if err != nil {
		return zero, err
	}
	r, err := svc.Result(id)
	if err != nil {
		return zero, err
	}
	return k.resultJSON(r), nil
}

func (k *kind[S, V, RV, J, JR]) deleteResult(id string) error {
	svc, err := k.service()
	if err != nil {
		return err
	}
	return svc.DeleteResult(id)
}

func (k *kind[S, V, RV, J, JR]) deleteResults() error {
	svc, err := k.service()
	if err != nil {
		return err
	}
	svc.DeleteResults()
	return nil
}
