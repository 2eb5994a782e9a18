package main

import (
	"errors"
	"regexp"
	"strings"
)

// flagField is a field of a request body that a quick flag sets: the
// field's path as the API names it in errors ("[*]" for any index) and
// the flag.
type flagField struct{ path, flag string }

// quickFlagFields are, by resource item, the body fields the quick flags
// of its create verb fill in. The API names a bad field by its path in
// the body; who typed --length 20 gave no such path, so opctl adds the
// flag after it.
var quickFlagFields = map[string][]flagField{
	"generator":    generatorFlagFields,
	"tvlp profile": tvlpFlagFields(generatorFlagFields),
	"analyzer":     {{"id", "--id"}, {"source_id", "--port"}, {"config.filter", "--filter"}},
	"capture":      {{"id", "--id"}, {"source_id", "--source"}, {"direction", "--direction"}, {"config.buffer_size", "--buffer-size"}, {"config.packet_size", "--packet-size"}, {"config.filter", "--filter"}, {"config.packet_count", "--count"}, {"config.duration", "--duration"}},
	"interface":    {{"id", "--id"}, {"port_id", "--port"}, {"config.protocols[0].eth.mac_address", "--mac"}, {"config.protocols[*].ipv4.static.address", "--ipv4"}, {"config.protocols[*].ipv4.static.prefix_length", "--ipv4"}, {"config.protocols[*].ipv4.static.gateway", "--gateway"}, {"config.protocols[*].ipv6.static.address", "--ipv6"}, {"config.protocols[*].ipv6.static.prefix_length", "--ipv6"}, {"config.protocols[*].ipv6.static.gateway", "--ipv6-gateway"}},
}

// generatorFlagFields are the fields of "generators create"'s quick flags.
var generatorFlagFields = []flagField{
	{"id", "--id"}, {"target_id", "--port"},
	{"config.load.rate.value", "--rate"}, {"config.load.burst_size", "--burst"},
	{"config.duration.frames", "--frames"}, {"config.duration.time.value", "--seconds"},
	{"config.traffic[0].length.fixed", "--length"}, {"config.traffic[0].length", "--length"},
	{"config.traffic[0].packet.protocols[0].ethernet.source", "--src-mac"},
	{"config.traffic[0].packet.protocols[0].ethernet.destination", "--dst-mac"},
	{"config.traffic[0].packet.protocols[1].ipv4.source", "--src-ip"},
	{"config.traffic[0].packet.protocols[1].ipv4.destination", "--dst-ip"},
	{"config.traffic[0].packet.protocols[1].modifiers.items[0].ipv4.sequence.count", "--flows"},
	{"config.traffic[0].signature.stream_id", "--stream-id"},
}

// tvlpFlagFields are those of "tvlp create": its steps are quick
// generators (the rate from --rates), and any step may be the one an
// error names.
func tvlpFlagFields(generator []flagField) []flagField {
	const step = "profile.packet.series[*]."
	f := []flagField{{"id", "--id"}, {step + "target_id", "--target"}, {step + "length", "--step"}, {step + "config.load.rate.value", "--rates"}}
	for _, g := range generator {
		if strings.HasPrefix(g.path, "config.") && g.flag != "--rate" && g.flag != "--frames" && g.flag != "--seconds" {
			f = append(f, flagField{step + g.path, g.flag})
		}
	}
	return f
}

// flagFieldREs are quickFlagFields as patterns: the path as a whole
// name (not "id" inside "source_id", nor a field inside another path),
// followed by ":" or a space or the end.
var flagFieldREs = func() map[string][]*regexp.Regexp {
	out := map[string][]*regexp.Regexp{}
	for item, fields := range quickFlagFields {
		for _, f := range fields {
			p := strings.ReplaceAll(regexp.QuoteMeta(f.path), `\[\*\]`, `\[\d+\]`)
			out[item] = append(out[item], regexp.MustCompile(`(^|[\s:(])(`+p+`)([:\s]|$)`))
		}
	}
	return out
}()

// nameFlags adds to an API error about a field a quick flag set the flag
// ("config.traffic[0].length.fixed (--length): ..."), to the field
// named first.
func nameFlags(err error, item string) error {
	var ae *apiError
	if !errors.As(err, &ae) {
		return err
	}
	first, end, flag := -1, 0, ""
	for i, re := range flagFieldREs[item] {
		if loc := re.FindStringSubmatchIndex(ae.message); loc != nil && (first < 0 || loc[4] < first) {
			first, end, flag = loc[4], loc[5], quickFlagFields[item][i].flag
		}
	}
	if first >= 0 {
		ae.message = ae.message[:end] + " (" + flag + ")" + ae.message[end:]
	}
	return err
}
