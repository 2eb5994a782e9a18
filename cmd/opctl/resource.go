package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"slices"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/openperfd/openperfd/api/gen"
)

// resource is one collection of the REST API (ports, generators, their
// results, ...) as opctl shows it. Its methods make the verbs that work
// the same way on every collection; a verb is given the call of the
// generated client as a method expression (gen.ClientInterface.GetPort),
// so a resource's file holds only its views and what it alone does.
type resource[T any] struct {
	s       *session
	item    string           // one item in messages: "generator"
	columns []string         // the head of the table of list, create, start
	row     func(T) []string // one item in that table
	fields  func(T) []field  // the view of get
	// extra, when set, adds columns that list shows when an item has a
	// value worth seeing in them (error counters that are not zero) or
	// when --wide asks for all of them.
	extra func(items []T, wide bool) (heads []string, cells func(T) []string)
}

// table is the view that prints items under the resource's column
// heads, a line each, to w.
func (r resource[T]) table(w io.Writer) func(items []T) error { return r.wideTable(w, false) }

// wideTable is table with the extra columns the items need, or all of
// them when wide.
func (r resource[T]) wideTable(w io.Writer, wide bool) func(items []T) error {
	return func(items []T) error {
		heads, cells := []string(nil), func(T) []string { return nil }
		if r.extra != nil {
			heads, cells = r.extra(items, wide)
		}
		tw := newTable(w)
		row(tw, append(slices.Clone(r.columns), heads...)...)
		for _, it := range items {
			row(tw, append(r.row(it), cells(it)...)...)
		}
		return tw.Flush()
	}
}

// idCall is a call of the generated client on one item.
type idCall = func(gen.ClientInterface, context.Context, string, ...gen.RequestEditorFn) (*http.Response, error)

// bodyCall is a call of the generated client that sends a JSON body.
type bodyCall = func(gen.ClientInterface, context.Context, string, io.Reader, ...gen.RequestEditorFn) (*http.Response, error)

// listCall is a list call of the generated client; P is its query
// parameters.
type listCall[P any] = func(gen.ClientInterface, context.Context, *P, ...gen.RequestEditorFn) (*http.Response, error)

// filter is a string flag of a list verb that sets the query parameter
// param, named as in the spec; empty, its default, filters nothing.
type filter struct{ flag, param, usage string }

// list makes "list": the collection as a table. (A function, not a
// method: Go methods take no type parameters of their own, here P.)
func list[T, P any](r resource[T], short string, call listCall[P], by ...filter) *cobra.Command {
	return r.s.command("list", short, noArgs, func(fs *pflag.FlagSet) runFunc {
		values := make([]*string, len(by))
		for i, f := range by {
			values[i] = fs.String(f.flag, "", f.usage)
		}
		wide := new(bool)
		if r.extra != nil {
			fs.BoolVar(wide, "wide", false, "show every error column, also when all are zero")
		}
		return func(ctx context.Context, a *app, _ []string) error {
			query := map[string]string{}
			for i, v := range values {
				if *v != "" {
					query[by[i].param] = *v
				}
			}
			params, err := queryParams[P](query)
			if err != nil {
				return err
			}
			resp, err := call(a.api, ctx, params)
			return show(a, resp, err, r.wideTable(a.out, *wide))
		}
	})
}

// queryParams fills in the generated parameters of a list call by the
// names the spec gives them, which the generated fields carry as JSON
// tags. A name that is no field is an error, not a filter left out.
func queryParams[P any](query map[string]string) (*P, error) {
	b, err := json.Marshal(query)
	if err != nil {
		return nil, err
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	var p P
	if err := d.Decode(&p); err != nil {
		return nil, fmt.Errorf("list filters %s: %w", b, err)
	}
	return &p, nil
}

// get makes "get ID": one item, a field a line.
func (r resource[T]) get(short string, call idCall) *cobra.Command {
	return r.s.command("get ID", short, oneID, func(*pflag.FlagSet) runFunc {
		return func(ctx context.Context, a *app, args []string) error {
			resp, err := call(a.api, ctx, args[0])
			return show(a, resp, err, func(v T) error { return writeFields(a.out, r.fields(v)) })
		}
	})
}

// quickForm adds the flags of a create verb's flag form to fs and returns
// what builds the request body from them and the --id flag, which every
// form has.
type quickForm func(fs *pflag.FlagSet) (build func(id string) (any, error))

// create makes "create": the item from -f FILE, sent as it is, or from
// the flags of form, none of which may go with -f.
func (r resource[T]) create(short string, call bodyCall, form quickForm) *cobra.Command {
	return r.s.command("create", short, noArgs, func(fs *pflag.FlagSet) runFunc {
		schema := reflect.TypeFor[T]().Name()
		file := fs.StringP("file", "f", "", fmt.Sprintf("%s JSON (OpenPerf's %s) to send as it is; - for stdin", r.item, schema))
		quick := pflag.NewFlagSet("quick", pflag.ContinueOnError)
		id := quick.String("id", "", r.item+" id (the server picks one when empty)")
		build := form(quick)
		fs.AddFlagSet(quick)
		return func(ctx context.Context, a *app, _ []string) error {
			body, err := requestBody(ctx, a, *file, quick, func() (any, error) { return build(*id) })
			if err != nil {
				return err
			}
			resp, err := call(a.api, ctx, "application/json", bytes.NewReader(body))
			err = show(a, resp, err, func(v T) error { return r.table(a.out)([]T{v}) })
			if *file == "" {
				err = nameFlags(err, r.item)
			}
			return err
		}
	})
}

// finisher is what a quick form builds when the body needs the daemon's
// state to be complete (a generator's free stream ids): finish asks the
// daemon and returns the body.
type finisher interface {
	finish(ctx context.Context, a *app) (any, error)
}

// fileOrQuick is the usage error of -f given with a quick flag.
func fileOrQuick(quick *pflag.FlagSet) error {
	var conflict error
	quick.VisitAll(func(f *pflag.Flag) {
		if f.Changed && conflict == nil {
			conflict = usageErrorf("give either -f or the quick flags (--%s), not both", f.Name)
		}
	})
	return conflict
}

// requestBody is the body of a create verb: the file as it is, or the
// JSON of what build makes from the quick flags.
func requestBody(ctx context.Context, a *app, file string, quick *pflag.FlagSet, build func() (any, error)) ([]byte, error) {
	if file == "" {
		v, err := build()
		if err != nil {
			return nil, err
		}
		if f, ok := v.(finisher); ok {
			if v, err = f.finish(ctx, a); err != nil {
				return nil, err
			}
		}
		return json.Marshal(v)
	}
	if err := fileOrQuick(quick); err != nil {
		return nil, err
	}
	return a.readBody(file)
}

// each makes a verb whose call has no reply body (delete, stop), made for
// every ID in turn; it says what it did ("deleted generator g1") unless
// --json.
func (r resource[T]) each(verb, short, done string, call idCall) *cobra.Command {
	return r.s.command(verb+" ID...", short, someIDs, func(*pflag.FlagSet) runFunc {
		return func(ctx context.Context, a *app, ids []string) error {
			for _, id := range ids {
				if _, err := a.reply(call(a.api, ctx, id)); err != nil {
					return err
				}
				if !a.json {
					fmt.Fprintf(a.out, "%s %s %s\n", done, r.item, id)
				}
			}
			return nil
		}
	})
}

// madeBy makes a verb of another noun whose call makes one of r's items
// for every ID (generators start makes generator results); it prints
// them in r's table.
func (r resource[T]) madeBy(verb, short string, call idCall) *cobra.Command {
	return r.s.command(verb+" ID...", short, someIDs, func(*pflag.FlagSet) runFunc {
		return func(ctx context.Context, a *app, ids []string) error {
			var made []T
			for _, id := range ids {
				body, err := a.reply(call(a.api, ctx, id))
				if err != nil {
					return err
				}
				if a.json {
					if err := a.raw(body); err != nil {
						return err
					}
					continue
				}
				v, err := decode[T](body)
				if err != nil {
					return err
				}
				made = append(made, v)
			}
			if a.json {
				return nil
			}
			return r.table(a.out)(made)
		}
	})
}

// show prints the reply of a call: unchanged with --json, else decoded as
// T and through view.
func show[T any](a *app, resp *http.Response, err error, view func(T) error) error {
	body, err := a.reply(resp, err)
	if err != nil {
		return err
	}
	if a.json {
		return a.raw(body)
	}
	v, err := decode[T](body)
	if err != nil {
		return err
	}
	return view(v)
}
