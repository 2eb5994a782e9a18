package main

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
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
func count(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	lead := len(s) % 3
	if lead == 0 {
		lead = 3
	}
	b.WriteString(s[:lead])
	for i := lead; i < len(s); i += 3 {
		b.WriteByte(',')
		b.WriteString(s[i : i+3])
	}
	return b.String()
}

// si formats a rate with an SI prefix and three significant digits:
// 999 -> "999", 1000 -> "1.00k", 12345678 -> "12.3M".
func si(v float64) string {
	if v < 0 || math.IsNaN(v) {
		return "-"
	}
	if v < 999.5 {
		return strconv.FormatFloat(math.Round(v), 'f', -1, 64)
	}
	const prefixes = "kMGTPE"
	i := -1
	for v >= 999.5 && i < len(prefixes)-1 {
		v /= 1000
		i++
	}
	switch {
	case v >= 99.95:
		return fmt.Sprintf("%.0f%c", v, prefixes[i])
	case v >= 9.995:
		return fmt.Sprintf("%.1f%c", v, prefixes[i])
	default:
		return fmt.Sprintf("%.2f%c", v, prefixes[i])
	}
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

// nanos formats nanoseconds with three significant digits: 381 -> "381ns",
// 12345 -> "12.3µs", 7093481 -> "7.09ms".
func nanos(ns int64) string {
	v := float64(ns)
	neg := v < 0
	if neg {
		v = -v
	}
	units := []string{"ns", "µs", "ms", "s"}
	i := 0
	for v >= 999.5 && i < len(units)-1 {
		v /= 1000
		i++
	}
	var s string
	switch {
	case i == 0 || v >= 99.95:
		s = fmt.Sprintf("%.0f%s", v, units[i])
	case v >= 9.995:
		s = fmt.Sprintf("%.1f%s", v, units[i])
	default:
		s = fmt.Sprintf("%.2f%s", v, units[i])
	}
	if neg {
		s = "-" + s
	}
	return s
}
