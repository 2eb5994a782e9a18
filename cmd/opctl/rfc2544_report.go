package main

import (
	"bytes"
	"fmt"
	"html/template"
	"image/color"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"github.com/openperfd/openperfd/api/gen"
)

// rfc2544Report renders a run as one HTML page with its plots inline as
// SVG (gonum/plot): nothing to fetch, so it opens offline and can be
// mailed as one file.
func rfc2544Report(r gen.Rfc2544Run) ([]byte, error) {
	var plots []template.HTML
	for _, mk := range []func(gen.Rfc2544Run) (*plot.Plot, error){throughputPlot, latencyPlot, frameLossPlot} {
		p, err := mk(r)
		if err != nil {
			return nil, err
		}
		if p == nil {
			continue
		}
		svg, err := svgOf(p)
		if err != nil {
			return nil, err
		}
		plots = append(plots, svg)
	}
	var b bytes.Buffer
	err := reportPage.Execute(&b, struct {
		Run   gen.Rfc2544Run
		Plots []template.HTML
	}{r, plots})
	return b.Bytes(), err
}

// svgOf draws a plot as an inline <svg> element (the XML prolog dropped).
func svgOf(p *plot.Plot) (template.HTML, error) {
	w, err := p.WriterTo(16*vg.Centimeter, 9*vg.Centimeter, "svg")
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	if _, err := w.WriteTo(&b); err != nil {
		return "", err
	}
	s := b.String()
	if i := strings.Index(s, "<svg"); i > 0 {
		s = s[i:]
	}
	return template.HTML(s), nil // our own plot library's output, no user text unescaped
}

func frameLabels(r gen.Rfc2544Run) []string {
	out := make([]string, len(r.Results))
	for i, s := range r.Results {
		out[i] = s.Frame
	}
	return out
}

// throughputPlot: bars of the throughput found per size, in percent of
// the line rate.
func throughputPlot(r gen.Rfc2544Run) (*plot.Plot, error) {
	vals := plotter.Values{}
	any := false
	for _, s := range r.Results {
		v := 0.0
		if s.Throughput != nil {
			v, any = s.Throughput.Percent, true
		}
		vals = append(vals, v)
	}
	if !any {
		return nil, nil
	}
	p := plot.New()
	p.Title.Text = "Throughput per frame size"
	p.Y.Label.Text = "% of line rate (no loss beyond the tolerance)"
	p.X.Label.Text = "frame length (octets)"
	bars, err := plotter.NewBarChart(vals, vg.Points(24))
	if err != nil {
		return nil, err
	}
	bars.Color = color.RGBA{R: 0x2b, G: 0x6c, B: 0xb0, A: 0xff}
	bars.LineStyle.Width = 0
	p.Add(bars, plotter.NewGrid())
	p.NominalX(frameLabels(r)...)
	p.Y.Min, p.Y.Max = 0, 105
	return p, nil
}

// latencyPlot: min, average, p99 and max latency per size (µs), lines on
// a log scale since max is often far above the rest.
func latencyPlot(r gen.Rfc2544Run) (*plot.Plot, error) {
	series := []struct {
		name string
		at   func(*gen.Rfc2544Latency) int64
	}{
		{"min", func(l *gen.Rfc2544Latency) int64 { return l.Min }},
		{"avg", func(l *gen.Rfc2544Latency) int64 { return l.Avg }},
		{"p50", func(l *gen.Rfc2544Latency) int64 { return l.P50 }},
		{"p99", func(l *gen.Rfc2544Latency) int64 { return l.P99 }},
		{"max", func(l *gen.Rfc2544Latency) int64 { return l.Max }},
	}
	var lines []any
	for _, se := range series {
		pts := plotter.XYs{}
		for i, s := range r.Results {
			if s.Latency == nil {
				continue
			}
			pts = append(pts, plotter.XY{X: float64(i), Y: max(0.01, float64(se.at(s.Latency))/1e3)})
		}
		if len(pts) == 0 {
			return nil, nil
		}
		lines = append(lines, se.name, pts)
	}
	p := plot.New()
	p.Title.Text = "Latency at the throughput found"
	p.Y.Label.Text = "latency (µs, log scale)"
	p.X.Label.Text = "frame length (octets)"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	if err := plotutil.AddLinePoints(p, lines...); err != nil {
		return nil, err
	}
	p.Add(plotter.NewGrid())
	p.NominalX(frameLabels(r)...)
	p.Legend.Top = true
	p.Y.Max *= 10 // room for the legend above the max line
	return p, nil
}

// frameLossPlot: frame loss rate against offered load, a line per size.
func frameLossPlot(r gen.Rfc2544Run) (*plot.Plot, error) {
	var lines []any
	for _, s := range r.Results {
		if s.FrameLoss == nil || len(*s.FrameLoss) == 0 {
			continue
		}
		pts := plotter.XYs{}
		for _, t := range *s.FrameLoss {
			pts = append(pts, plotter.XY{X: t.Percent, Y: t.LossPercent})
		}
		lines = append(lines, s.Frame, pts)
	}
	if len(lines) == 0 {
		return nil, nil
	}
	p := plot.New()
	p.Title.Text = "Frame loss rate"
	p.X.Label.Text = "offered load (% of line rate)"
	p.Y.Label.Text = "frames lost (%)"
	if err := plotutil.AddLinePoints(p, lines...); err != nil {
		return nil, err
	}
	p.Add(plotter.NewGrid())
	p.X.Min, p.X.Max, p.Y.Min = 0, 105, 0
	p.Legend.Top, p.Legend.Left = true, true
	return p, nil
}

var reportFuncs = template.FuncMap{
	"f2":  func(v float64) string { return fmt.Sprintf("%.2f", v) },
	"f0":  func(v float64) string { return fmt.Sprintf("%.0f", v) },
	"f1":  func(v float64) string { return fmt.Sprintf("%.1f", v) },
	"us":  func(ns int64) string { return fmt.Sprintf("%.2f", float64(ns)/1e3) },
	"str": func(s *string) string { return deref(s) },
	"join": func(v any) string {
		switch x := v.(type) {
		case *[]int32:
			if x == nil {
				return ""
			}
			return strings.Trim(fmt.Sprint(*x), "[]")
		case *[]gen.Rfc2544ConfigTests:
			if x == nil {
				return ""
			}
			return strings.Trim(fmt.Sprint(*x), "[]")
		}
		return fmt.Sprint(v)
	},
}

var reportPage = template.Must(template.New("report").Funcs(reportFuncs).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>RFC 2544 report {{.Run.Id}}</title>
<style>
body { font-family: sans-serif; margin: 2em; color: #222; max-width: 70em; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.7em; text-align: right; }
th { background: #eef; } td:first-child, th:first-child { text-align: left; }
.plots svg { display: block; margin: 1em 0; }
.state-done { color: #070; } .state-failed, .state-stopped { color: #a00; }
</style></head><body>
<h1>RFC 2544 benchmark</h1>
{{with .Run}}
<p>Run <code>{{.Id}}</code>: <b class="state-{{.State}}">{{.State}}</b>{{with .Error}} ({{.}}){{end}};
started {{.Started.Format "2006-01-02 15:04:05 MST"}}{{with .Finished}}, finished {{.Format "2006-01-02 15:04:05 MST"}}{{end}}; {{.Progress.Trials}} trials.</p>
{{with .Config}}
<table>
<tr><th>tx port</th><td>{{.TxPort}}</td><th>rx port</th><td>{{.RxPort}}</td></tr>
<tr><th>frame sizes</th><td>{{join .Sizes}}</td><th>IMIX</th><td>{{str .Imix}}</td></tr>
<tr><th>tests</th><td>{{join .Tests}}</td><th>trial</th><td>{{with .TrialDuration}}{{f2 .}} s{{end}}</td></tr>
<tr><th>loss tolerance</th><td>{{with .LossTolerance}}{{f2 .}} %{{end}}</td><th>resolution</th><td>{{with .Resolution}}{{f2 .}} %{{end}}</td></tr>
<tr><th>line rate</th><td>{{with .LineRateMbps}}{{.}} Mbps{{end}}</td><th>back-to-back searches</th><td>{{with .BackToBackTrials}}{{.}}{{end}}</td></tr>
<tr><th>latency trials</th><td>{{with .LatencyTrials}}{{.}}{{end}}</td><th></th><td></td></tr>
</table>
{{end}}
<h2>Results</h2>
<table>
<tr><th>frame</th><th>line rate (frames/s)</th><th>throughput (%)</th><th>frames/s</th><th>Mbps</th>
<th>latency min (µs)</th><th>avg</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th><th>latency trials</th><th>back-to-back (frames)</th><th>searches</th></tr>
{{range .Results}}<tr><td>{{.Frame}}</td><td>{{f0 .LineRateFps}}</td>
{{with .Throughput}}<td>{{f2 .Percent}}</td><td>{{f0 .FramesPerSecond}}</td><td>{{f1 .Mbps}}</td>{{else}}<td>-</td><td>-</td><td>-</td>{{end}}
{{with .Latency}}<td>{{us .Min}}</td><td>{{us .Avg}}</td><td>{{us .P50}}</td><td>{{us .P90}}</td><td>{{us .P99}}</td><td>{{us .P999}}</td><td>{{us .Max}}</td><td>{{with .Trials}}{{.}}{{else}}1{{end}}</td>{{else}}<td colspan="8">-</td>{{end}}
{{with .BackToBack}}<td>{{f0 .Frames}}</td><td>{{with .Bursts}}{{len .}}{{else}}-{{end}}</td>{{else}}<td>-</td><td>-</td>{{end}}</tr>
{{end}}</table>
{{end}}
<div class="plots">{{range .Plots}}{{.}}{{end}}</div>
<h2>Trials</h2>
{{range .Run.Results}}<h3>{{.Frame}}</h3>
<table><tr><th>test</th><th>offered (%)</th><th>frames/s</th><th>sent</th><th>received</th><th>lost (%)</th></tr>
{{with .Throughput}}{{range .Trials}}<tr><td>throughput</td><td>{{f2 .Percent}}</td><td>{{f0 .FramesPerSecond}}</td><td>{{.TxFrames}}</td><td>{{.RxFrames}}</td><td>{{f2 .LossPercent}}</td></tr>{{end}}{{end}}
{{with .FrameLoss}}{{range .}}<tr><td>frame loss</td><td>{{f2 .Percent}}</td><td>{{f0 .FramesPerSecond}}</td><td>{{.TxFrames}}</td><td>{{.RxFrames}}</td><td>{{f2 .LossPercent}}</td></tr>{{end}}{{end}}
{{with .BackToBack}}{{range .Trials}}<tr><td>back-to-back</td><td>{{f2 .Percent}}</td><td>{{f0 .FramesPerSecond}}</td><td>{{.TxFrames}}</td><td>{{.RxFrames}}</td><td>{{f2 .LossPercent}}</td></tr>{{end}}{{end}}
</table>{{end}}
<p>Loss is counted from signatures: frames the generator sent against frames the analyzer received with the trial's stream id. Made by opctl rfc2544.</p>
</body></html>
`))
