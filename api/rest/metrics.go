package rest

import (
	"fmt"

	"github.com/labstack/echo/v4"
	"go.uber.org/zap"

	"github.com/openperfd/openperfd/api/metrics"
)

// mountMetrics serves Prometheus metrics at /metrics, read from svc when
// scraped. Members of svc that are nil pointers stay nil interfaces, so
// the collector leaves their modules out.
func mountMetrics(e *echo.Echo, svc Services, log *zap.Logger) error {
	var src metrics.Sources
	if svc.Ports != nil {
		src.Ports = svc.Ports
	}
	if svc.Workers != nil {
		src.Workers = svc.Workers
	}
	if svc.Stack != nil {
		src.Stack, src.Pools = svc.Stack, svc.Stack
	}
	if svc.Generators != nil {
		src.Generators = svc.Generators
	}
	if svc.Analyzers != nil {
		src.Analyzers = svc.Analyzers
	}
	h, err := metrics.Handler(src, log)
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	e.GET("/metrics", echo.WrapHandler(h))
	return nil
}
