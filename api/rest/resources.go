package rest

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/openperfd/openperfd/errdefs"
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
	svc    lifecycle[S, V, RV] // nil when the module is not loaded
	module string              // "packet analyzer", for that 404
	// path and resultPath prefix the Location of a new item and result.
	path, resultPath string
	// fromJSON turns a request item into a spec; where prefixes field
	// names in errors ("items[2]" in a bulk request).
	fromJSON   func(in *J, where string) (S, error)
	toJSON     func(V) J
	resultJSON func(RV) JR
	id         func(V) string
	resultID   func(RV) string
}

// startWait bounds how long a start waits for an item to become ready (a
// generator still learning).
const startWait = 15 * time.Second

// service returns the kind's service, or the 404 of a module not loaded.
func (k *kind[S, V, RV, J, JR]) service() (lifecycle[S, V, RV], error) {
	if k.svc == nil {
		return nil, &apiError{status: http.StatusNotFound, msg: "the " + k.module + " module is not loaded"}
	}
	return k.svc, nil
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
		return zero, "", err
	}
	return k.toJSON(views[0]), k.path + k.id(views[0]), nil
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
	return k.resultJSON(rs[0]), k.resultPath + k.resultID(rs[0]), nil
}

// startMany starts items, all or none.
func (k *kind[S, V, RV, J, JR]) startMany(ctx context.Context, ids []string) ([]JR, error) {
	_, err := k.service()
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
	if err := svc.StopOne(id); err != nil && !errors.Is(err, errdefs.ErrNotFound) {
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
