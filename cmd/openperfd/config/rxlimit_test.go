package config

import (
	"maps"
	"strings"
	"testing"
)

func TestTestRxLimitParsed(t *testing.T) {
	cfg, err := Load([]string{"--modules.packetio.dpdk.x-test-rx-limit", "1=20000, 0=5e3"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := cfg.PacketIO.DPDK.RxLimits()
	if err != nil || !maps.Equal(got, map[string]float64{"1": 20000, "0": 5000}) {
		t.Fatalf("limits %v, %v", got, err)
	}
	for _, bad := range []string{"1", "=5", "1=0", "1=x", "1=inf"} {
		_, err := Load([]string{"--modules.packetio.dpdk.x-test-rx-limit", bad})
		if err == nil || !strings.Contains(err.Error(), "x-test-rx-limit") {
			t.Errorf("%q: %v, want an error naming the flag", bad, err)
		}
	}
}
