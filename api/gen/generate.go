// Package gen holds Go code generated from ../openapi.yaml by oapi-codegen.
package gen

//go:generate go tool oapi-codegen -config cfg.yaml ../openapi.yaml
