package rest

import (
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"
)

// OpenPerf names resources with lower-case letters, digits and hyphens
// only, and answers 404, not 400, to an id outside that rule, whether it
// is a path parameter or an id in a request body: no such resource can
// exist. UUIDs, the ids the server picks, fit the rule.
func wellFormedID(id string) bool {
	if id == "" {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c == '-' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')) {
			return false
		}
	}
	return true
}

// checkID is nil for a well-formed id, or for "" (the server then picks
// one), else the 404 OpenPerf gives; field names where the id was.
func checkID(field, id string) error {
	if id == "" || wellFormedID(id) {
		return nil
	}
	return malformedID(field, id)
}

func malformedID(field, id string) error {
	return &apiError{status: http.StatusNotFound, msg: fmt.Sprintf(
		"%s: %q is not a valid identifier: ids may only contain lower-case letters, digits and hyphens", field, id)}
}

// checkIDs checks every id of a bulk request the same way; empty ids
// name nothing and are skipped, as OpenPerf skips them.
func checkIDs(field string, ids []string) error {
	for i, id := range ids {
		if err := checkID(fmt.Sprintf("%s[%d]", field, i), id); err != nil {
			return err
		}
	}
	return nil
}

// pathIDs answers 404 to a request whose {id} path parameter breaks the
// id rule, before any handler runs, as OpenPerf does for every resource.
func pathIDs(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		for i, name := range c.ParamNames() {
			if name != "id" {
				continue
			}
			if v := c.ParamValues()[i]; !wellFormedID(v) {
				return malformedID("id", v)
			}
		}
		return next(c)
	}
}

// emptyFilter reports a list filter given with an empty value: OpenPerf
// compares it like any other value, so it matches nothing, where an absent
// filter matches everything.
func emptyFilter(filters ...*string) bool {
	for _, f := range filters {
		if f != nil && *f == "" {
			return true
		}
	}
	return false
}
