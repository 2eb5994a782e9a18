package generator

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/openperfd/openperfd/packet/protocol"
)

func TestValidationNamesField(t *testing.T) {
	mod := func(m Modifier) TrafficDefinition { return udpDef(nil, []Modifier{m}, TieZip) }
	tests := []struct {
		name string
		defs []TrafficDefinition
		path string
	}{
		{"empty traffic", nil, "traffic"},
		{"no protocols", []TrafficDefinition{{Length: Length{Fixed: 64}}}, "traffic[0].packet.protocols"},
		{"sequence count 0", []TrafficDefinition{mod(Modifier{Name: "source_port", Sequence: &ValueSequence{}})},
			"traffic[0].packet.protocols[2].modifiers.items[0].field.sequence.count"},
		{"unknown field", []TrafficDefinition{mod(Modifier{Name: "colour", List: vals(1)})},
			"traffic[0].packet.protocols[2].modifiers.items[0].name"},
		{"derived field is not modifiable", []TrafficDefinition{mod(Modifier{Name: "checksum", List: vals(1)})},
			"traffic[0].packet.protocols[2].modifiers.items[0].name"},
		{"value too wide", []TrafficDefinition{mod(Modifier{Name: "source_port", List: vals(1, 70000)})},
			"traffic[0].packet.protocols[2].modifiers.items[0].field.list[1]"},
		{"wrong address kind", []TrafficDefinition{mod(Modifier{Name: "source_port", Kind: KindMAC, List: []Value{MACAddr(macA)}})},
			"traffic[0].packet.protocols[2].modifiers.items[0].mac"},
		{"neither list nor sequence", []TrafficDefinition{mod(Modifier{Name: "source_port"})},
			"traffic[0].packet.protocols[2].modifiers.items[0].field"},
		{"length below 64", []TrafficDefinition{func() TrafficDefinition { d := udpDef(nil, nil, TieZip); d.Length = Length{Fixed: 60}; return d }()},
			"traffic[0].length.fixed"},
		{"length list entry too short for signature", []TrafficDefinition{udpDef(nil, nil, TieZip), func() TrafficDefinition {
			d := udpDef(nil, nil, TieZip)
			d.Headers = slices.Insert(d.Headers, 1, HeaderDef{Header: protocol.VLAN{VID: 1}})
			d.Length = Length{List: []int{128, 64}}
			d.Signature = &SignatureConfig{Format: FormatOpenperfd}
			return d
		}()}, "traffic[1].length.list[1]"},
		{"length sequence stop before start", []TrafficDefinition{func() TrafficDefinition {
			d := udpDef(nil, nil, TieZip)
			d.Length = Length{Sequence: &LengthSequence{Count: 2, Start: 100, Stop: 90}}
			return d
		}()}, "traffic[0].length.sequence.stop"},
		{"increment fill not an octet", []TrafficDefinition{func() TrafficDefinition {
			d := udpDef(nil, nil, TieZip)
			d.Signature = &SignatureConfig{Format: FormatOpenperfd, Fill: Fill{Kind: FillIncrement, Value: 256}}
			return d
		}()}, "traffic[0].signature.fill.increment"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compile(tc.defs, OrderRoundRobin, 0)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Path != tc.path {
				t.Fatalf("err = %v, want path %s", err, tc.path)
			}
		})
	}
}

func TestFlowLimitExceeded(t *testing.T) {
	def := udpDef(nil, []Modifier{
		{Name: "source_port", Sequence: &ValueSequence{Count: 1000, Start: Uint(1)}},
		{Name: "destination_port", Sequence: &ValueSequence{Count: 1000, Start: Uint(1)}},
	}, TieCartesian)
	_, err := Compile([]TrafficDefinition{def}, OrderRoundRobin, 100000)
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "100000") {
		t.Fatalf("err = %v, want ErrInvalid naming the limit", err)
	}
	if _, err := Compile([]TrafficDefinition{def}, OrderRoundRobin, 1000000); err != nil {
		t.Fatalf("at the limit: %v", err)
	}
}
