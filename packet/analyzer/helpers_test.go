package analyzer

import (
	"testing"

	"github.com/openperfd/openperfd/packet/generator"
	"github.com/openperfd/openperfd/packet/protocol"
	"github.com/openperfd/openperfd/packetio"
)

var (
	macA = [6]byte{0x02, 0, 0, 0, 0, 0x01}
	macB = [6]byte{0x02, 0, 0, 0, 0, 0x02}
	ip4A = [4]byte{10, 0, 0, 1}
	ip4B = [4]byte{10, 0, 1, 1}
)

// clock is an injectable receive clock.
type testClock struct{ now uint64 }

func (c *testClock) read() uint64 { return c.now }

// udpDef is Ethernet/IPv4/UDP of fixed length, signed with stream ids from
// stream unless stream is 0, with flows by source port when ports are given.
func udpDef(length int, stream uint32, fill generator.FillKind, ports ...uint64) generator.TrafficDefinition {
	var mods []generator.Modifier
	if len(ports) > 0 {
		vals := make([]generator.Value, len(ports))
		for i, p := range ports {
			vals[i] = generator.Uint(p)
		}
		mods = []generator.Modifier{{Name: "source_port", List: vals}}
	}
	d := generator.TrafficDefinition{
		Headers: []generator.HeaderDef{
			{Header: protocol.Ethernet{Dst: macB, Src: macA}},
			{Header: protocol.IPv4{TTL: 64, Src: ip4A, Dst: ip4B}},
			{Header: protocol.UDP{SrcPort: 1000, DstPort: 2000}, Modifiers: mods},
		},
		Length: generator.Length{Fixed: length},
	}
	if stream != 0 {
		d.Signature = &generator.SignatureConfig{Format: generator.FormatOpenperfd, StreamID: stream, Fill: generator.Fill{Kind: fill}}
	}
	return d
}

func compile(t testing.TB, defs ...generator.TrafficDefinition) *generator.Program {
	t.Helper()
	p, err := generator.Compile(defs, generator.OrderRoundRobin, 0)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// pusher turns frames into heap mbufs and pushes them in bursts through
// one burst array (one lane, as one worker).
type pusher struct {
	a     *Analyzer
	port  uint16
	mbufs []*packetio.Mbuf
	bufs  [][]byte
	burst []*packetio.Mbuf
}

func newPusher(a *Analyzer, port uint16) *pusher {
	p := &pusher{a: a, port: port, burst: make([]*packetio.Mbuf, 0, packetio.BurstSize)}
	for range packetio.BurstSize {
		b := make([]byte, packetio.MbufHeadroom+2048)
		p.bufs = append(p.bufs, b)
		p.mbufs = append(p.mbufs, packetio.NewHeapMbuf(b))
	}
	return p
}

// add copies frame into the next mbuf of the burst; flush pushes it.
func (p *pusher) add(frame []byte) { p.addChecked(frame, 0) }

// addChecked is add for a frame whose checksums the port checked, as ck
// says.
func (p *pusher) addChecked(frame []byte, ck packetio.RxChecksum) {
	m := p.mbufs[len(p.burst)]
	m.Reset()
	m.SetRxChecksum(ck)
	n := copy(m.Room(), frame)
	m.SetLen(n)
	p.burst = append(p.burst, m)
	if len(p.burst) == cap(p.burst) {
		p.flush()
	}
}

func (p *pusher) flush() {
	if len(p.burst) > 0 {
		p.a.Push(p.port, p.burst)
		p.burst = p.burst[:0]
	}
}

// sendSeq pushes frames of definition def's flow with the given sequence
// numbers, each frame its own burst at rx time rx0 + i*step, tx timestamp
// rx time minus latency lat(i).
func sendSeq(t testing.TB, p *pusher, c *testClock, d *generator.Definition, flow int, seqs []uint32, lat func(i int) uint64) {
	t.Helper()
	buf := make([]byte, 2048)
	for i, s := range seqs {
		c.now += 1000
		n := d.Write(buf, flow, 0, s, c.now-lat(i))
		p.add(buf[:n])
		p.flush()
	}
}

func newStarted(t testing.TB, cfg Config) *Analyzer {
	t.Helper()
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	a.Start()
	return a
}

func flowByStream(t testing.TB, r Results, stream uint32) FlowResult {
	t.Helper()
	for _, f := range r.Flows {
		if f.Key.Signed && f.Key.StreamID == stream {
			return f
		}
	}
	t.Fatalf("no flow for stream %d in %d flows", stream, len(r.Flows))
	return FlowResult{}
}
