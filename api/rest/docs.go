package rest

import (
	"bytes"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/swaggest/swgui"
	"github.com/swaggest/swgui/v5emb"
	"go.yaml.in/yaml/v3"

	"github.com/openperfd/openperfd/api/gen"
)

// docsPath is where Swagger UI answers; its assets are under it.
const docsPath = "/docs"

// specDocuments returns the spec the validator loads (gen's embedded
// JSON) as JSON and as YAML. Both come from the same bytes, so what a
// client reads is what the daemon checks requests against.
func specDocuments() (jsonDoc, yamlDoc []byte, err error) {
	jsonDoc, err = gen.GetSpecJSON()
	if err != nil {
		return nil, nil, fmt.Errorf("load embedded OpenAPI spec: %w", err)
	}
	// JSON is YAML: decoding into a node keeps the key order, and
	// clearing the flow and quoting styles makes the encoder write block
	// YAML, quoting only where a plain scalar would change type.
	var doc yaml.Node
	if err := yaml.Unmarshal(jsonDoc, &doc); err != nil {
		return nil, nil, fmt.Errorf("embedded OpenAPI spec as YAML: %w", err)
	}
	plainStyle(&doc)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, nil, fmt.Errorf("encode OpenAPI spec as YAML: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, nil, fmt.Errorf("encode OpenAPI spec as YAML: %w", err)
	}
	return jsonDoc, buf.Bytes(), nil
}

func plainStyle(n *yaml.Node) {
	n.Style = 0
	for _, c := range n.Content {
		plainStyle(c)
	}
}

// mountDocs serves the spec at /openapi.json and /openapi.yaml and
// Swagger UI, from assets compiled into the binary, at /docs. Swagger UI
// sends "try it out" requests to the spec's server "/", that is this
// daemon, from its own origin, so the guard's Origin check lets them in.
func mountDocs(e *echo.Echo) error {
	jsonDoc, yamlDoc, err := specDocuments()
	if err != nil {
		return err
	}
	e.GET("/openapi.json", func(c echo.Context) error {
		return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, jsonDoc)
	})
	e.GET("/openapi.yaml", func(c echo.Context) error {
		return c.Blob(http.StatusOK, "application/yaml", yamlDoc)
	})
	ui := echo.WrapHandler(v5emb.NewHandlerWithConfig(swgui.Config{
		Title:       "openperfd API",
		SwaggerJSON: "/openapi.json",
		BasePath:    docsPath,
		// Proxy stays off: it would fetch any URL a page asks for.
	}))
	e.GET(docsPath, ui)
	e.GET(docsPath+"/*", ui)
	return nil
}
