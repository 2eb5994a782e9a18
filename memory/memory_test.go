package memory

import "testing"

func TestPoolSizeRoundsUpToPowerOfTwoMinusOne(t *testing.T) {
	cases := []struct {
		name                               string
		desc, lcores, cache, reserve, want int
	}{
		{"exact fit stays", 1023, 0, 0, 0, 1023},
		{"one over doubles", 1024, 0, 0, 0, 2047},
		{"caches count", 1024, 2, 256, 1024, 4095},
		{"nothing still gives one", 0, 0, 0, 0, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := PoolSize(c.desc, c.lcores, c.cache, c.reserve)
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Fatalf("PoolSize = %d, want %d", got, c.want)
			}
		})
	}
}

func TestPoolSizeRejectsNonsense(t *testing.T) {
	if _, err := PoolSize(-1, 0, 0, 0); err == nil {
		t.Fatal("negative descriptors accepted")
	}
	if _, err := PoolSize(1<<25, 0, 0, 0); err == nil {
		t.Fatal("32M buffers accepted")
	}
}

func TestNoHugeMegabytesCoversMeasuredCost(t *testing.T) {
	// Measured on DPDK 22.11: 8191 mbufs needed -m 36, 32767 needed -m 132.
	if got := NoHugeMegabytes(8191); got < 36 {
		t.Fatalf("8191 buffers: %d MB, want >= 36", got)
	}
	if got := NoHugeMegabytes(32767); got < 132 {
		t.Fatalf("32767 buffers: %d MB, want >= 132", got)
	}
}

func TestJumboMegabytesCoverTheBuffers(t *testing.T) {
	if got := JumboMegabytes(0); got != 0 {
		t.Errorf("no jumbo buffers: %d MB", got)
	}
	// Each buffer: the mbuf header, the 9344-byte data room, the mempool's header.
	if got, least := JumboMegabytes(2047), 2047*(128+JumboBufSize)/(1<<20); got <= least {
		t.Errorf("2047 jumbo buffers: %d MB, want more than %d", got, least)
	}
}
