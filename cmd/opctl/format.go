package main

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/dustin/go-humanize"
)

// newTable returns a writer that aligns tab-separated columns; call Flush.
func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
}

// row writes one tab-separated line.
func row(w io.Writer, cols ...string) {
	fmt.Fprintln(w, strings.Join(cols, "\t"))
}

// field is one line of a detail view.
type field struct{ name, value string }

// writeFields prints name: value lines with the values aligned.
func writeFields(w io.Writer, fields []field) error {
	tw := newTable(w)
	for _, f := range fields {
		row(tw, f.name+":", f.value)
	}
	return tw.Flush()
}

// count formats an integer with thousands separators: 1234567 -> 1,234,567.
func count(n int64) string { return humanize.Comma(n) }

// si formats a rate with an SI prefix and three significant digits:
// 999 -> "999", 1000 -> "1.00k", 12345678 -> "12.3M".
func si(v float64) string {
	switch {
	case v < 0 || math.IsNaN(v):
		return "-"
	case v < 999.5:
		return strconv.FormatFloat(math.Round(v), 'f', -1, 64)
	}
	digits, prefix := threeDigits(v)
	return digits + prefix
}

// nanos formats nanoseconds with three significant digits: 381 -> "381ns",
// 12345 -> "12.3µs", 7093481 -> "7.09ms".
func nanos(ns int64) string {
	v := math.Abs(float64(ns))
	sign := ""
	if ns < 0 {
		sign = "-"
	}
	if v < 999.5 {
		return fmt.Sprintf("%s%.0fns", sign, v)
	}
	// Nanoseconds scaled by an SI prefix are the next units of time;
	// seconds are the largest unit shown.
	digits, prefix := threeDigits(v)
	unit, ok := map[string]string{"k": "µs", "M": "ms", "G": "s"}[prefix]
	if !ok {
		return fmt.Sprintf("%s%.0fs", sign, v/1e9)
	}
	return sign + digits + unit
}

// threeDigits rounds v (at least 1) to three significant digits and
// splits it into digits below 1000 and the SI prefix humanize picks for
// them. Rounding comes first so that 999,700 is "1.00" "M", not "1000" "k".
func threeDigits(v float64) (digits, prefix string) {
	scale := math.Pow10(int(math.Floor(math.Log10(v))) - 2)
	m, prefix := humanize.ComputeSI(math.Round(v/scale) * scale)
	switch {
	case m >= 99.95:
		return fmt.Sprintf("%.0f", m), prefix
	case m >= 9.995:
		return fmt.Sprintf("%.1f", m), prefix
	default:
		return fmt.Sprintf("%.2f", m), prefix
	}
}

// percent formats n of total as a percentage with three significant
// digits: "0%", "0.0123%", "39.9%", "100%" ("-" when total is 0).
func percent(n, total int64) string {
	switch {
	case total <= 0:
		return "-"
	}
	return percentOf(100 * float64(n) / float64(total))
}

// percentOf formats a share given in percent as percent does.
func percentOf(v float64) string {
	switch {
	case v == 0:
		return "0%"
	case v < 0.001:
		return "<0.001%"
	}
	return strconv.FormatFloat(v, 'g', 3, 64) + "%"
}

// linkSpeed formats a link speed given in Mbps: 10000 -> "10 Gbps".
func linkSpeed(mbps int64) string {
	switch {
	case mbps <= 0:
		return "-"
	case mbps%1000 == 0:
		return strconv.FormatInt(mbps/1000, 10) + " Gbps"
	default:
		return strconv.FormatInt(mbps, 10) + " Mbps"
	}
}

// right pads s on the left to w characters (not bytes: "µs" is one
// character of two bytes, which fmt's widths count).
func right(s string, w int) string {
	if n := utf8.RuneCountInString(s); n < w {
		return strings.Repeat(" ", w-n) + s
	}
	return s
}

// str returns *s, or "-" for nil or empty.
func str(s *string) string {
	if s == nil || *s == "" {
		return "-"
	}
	return *s
}

// yesNo formats a flag for tables.
func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// siValue is an integer flag that also takes an SI suffix: 10k, 1M, 2.5G.
type siValue int64

// String implements pflag.Value.
func (v *siValue) String() string { return strconv.FormatInt(int64(*v), 10) }

// Type implements pflag.Value.
func (v *siValue) Type() string { return "n" }

// Set implements pflag.Value.
func (v *siValue) Set(s string) error {
	mult := 1.0
	if n := len(s); n > 0 {
		switch s[n-1] {
		case 'k', 'K':
			mult = 1e3
		case 'M':
			mult = 1e6
		case 'G':
			mult = 1e9
		}
		if mult != 1 {
			s = s[:n-1]
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f*mult != math.Trunc(f*mult) || f*mult > math.MaxInt64 {
		return fmt.Errorf("%q: want a whole number, optionally with k, M or G", s)
	}
	*v = siValue(f * mult)
	return nil
}
