package capture

import (
	"fmt"
	"io"
	"sync"

	"github.com/openperfd/openperfd/memory"
	"github.com/openperfd/openperfd/packet/resource"
	"github.com/openperfd/openperfd/packetio"
)

// Dataplane is what captures need from the workers: rx sinks, and (for
// tx and rx_and_tx captures, if it is a TxTapper) taps that see what a
// port transmits.
type Dataplane = packetio.Sinks

// TxTapper is implemented by a Dataplane that can show transmitted
// packets to a sink.
type TxTapper interface {
	AddTxTap(portID string, s packetio.Sink)
	RemoveTxTap(portID string, s packetio.Sink)
}

// Spec is a capture as the API hands it in.
type Spec struct {
	ID, SourceID string
	Config       Config
	Opaque       any // the API's own form, handed back by Get
}

// Service owns the captures and their results. Their lifecycle (create,
// list, get, delete, start, stop, results) is the embedded
// resource.Lifecycle's, with a capture's hooks; a capture that stops by
// itself (its buffer full, its duration over) stays on the workers until
// it starts again or is deleted. Safe for concurrent use.
type Service struct {
	*resource.Lifecycle[Spec, Spec, *capRun, View, ResultView]
	dp Dataplane
}

type item = resource.Item[Spec, *capRun]

type capRun struct {
	c      *Capture
	portID string
	rx, tx packetio.Sink // what was registered
}

// NewService makes the capture service over sources (port and interface
// ids). Each run's buffer is reserved in budget (nil: no limit) when it
// starts and released when its result is deleted (a stopped run keeps its
// packets for download).
func NewService(dp Dataplane, sources resource.Endpoints, budget *memory.Budget) *Service {
	s := &Service{dp: dp}
	s.Lifecycle = resource.New(resource.Hooks[Spec, Spec, *capRun, View, ResultView]{
		Kind: "capture", Endpoint: "source", ErrInvalid: ErrInvalid,
		IDs:   func(sp Spec) (string, string) { return sp.ID, sp.SourceID },
		Build: s.build,
		RunBytes: func(it *item) (int64, string) {
			cfg := it.State.Config
			return cfg.Footprint(), fmt.Sprintf("config.buffer_size %d", cfg.BufferSize)
		},
		Launch:  s.launch,
		Stop:    s.stop,
		Running: func(r *capRun) bool { return r.c.Active() },
		View: func(it *item, active bool) View {
			return View{ID: it.ID, SourceID: it.EndpointID, Direction: it.State.Config.Direction, Active: active, Opaque: it.State.Opaque}
		},
		ResultView: func(r *resource.Run[Spec, *capRun], _ bool) ResultView {
			return ResultView{ID: r.ID, CaptureID: r.Item.ID, SourceID: r.Item.EndpointID, Results: r.State.c.Results()}
		},
	}, sources, budget)
	return s
}

// View is a capture as the API shows it.
type View struct {
	ID, SourceID string
	Direction    Direction
	Active       bool
	Opaque       any
}

// build checks a capture's config; its buffer is allocated when it
// starts.
func (s *Service) build(sp Spec, _ resource.Endpoint) (Spec, error) {
	if sp.Config.Direction == 0 {
		sp.Config.Direction = DirRx
	}
	if sp.Config.Direction&DirTx != 0 {
		if _, ok := s.dp.(TxTapper); !ok {
			return sp, fmt.Errorf("direction: %s: capturing transmitted packets is not supported yet (use rx): %w", sp.Config.Direction, ErrInvalid)
		}
	}
	sp.Config.Name = sp.SourceID
	if err := sp.Config.validate(); err != nil {
		return sp, fmt.Errorf("config: %w", err)
	}
	return sp, nil
}

// macSink passes on frames to or from one MAC address (an interface's).
type macSink struct {
	mac  [6]byte
	push func(port uint16, pkts []*packetio.Mbuf)
	buf  []*packetio.Mbuf
	mu   sync.Mutex
}

func (m *macSink) Push(port uint16, pkts []*packetio.Mbuf) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.buf = m.buf[:0]
	for _, p := range pkts {
		if d := p.Data(); len(d) >= 12 && ([6]byte(d[:6]) == m.mac || [6]byte(d[6:12]) == m.mac) {
			m.buf = append(m.buf, p)
		}
	}
	if len(m.buf) > 0 {
		m.push(port, m.buf)
	}
}

// launch starts a capture on its source: on an interface, only frames to
// or from the interface's MAC are kept.
func (s *Service) launch(it *item, _ string, _ *resource.Run[Spec, *capRun]) (*capRun, error) {
	c, err := New(it.State.Config)
	if err == nil {
		err = c.Start()
	}
	if err != nil {
		return nil, fmt.Errorf("capture %s: %w", it.ID, err)
	}
	ep := it.Endpoint
	r := &capRun{c: c, portID: ep.PortID, rx: c, tx: &txSink{c}}
	if ep.Interface != "" {
		r.rx = &macSink{mac: ep.MAC, push: c.Push}
		r.tx = &macSink{mac: ep.MAC, push: c.PushTx}
	}
	if c.cfg.Direction&DirRx != 0 {
		s.dp.AddSink(r.portID, r.rx)
	}
	if c.cfg.Direction&DirTx != 0 {
		s.dp.(TxTapper).AddTxTap(r.portID, r.tx)
	}
	return r, nil
}

// txSink hands a capture the frames a port is about to send. A pointer:
// the workers find a sink to remove by comparing it, and a func value
// cannot be compared.
type txSink struct{ c *Capture }

func (t *txSink) Push(port uint16, pkts []*packetio.Mbuf) { t.c.PushTx(port, pkts) }

// stop stops a capture's run and takes it off the workers.
func (s *Service) stop(_ *item, r *capRun) {
	r.c.Stop()
	if r.c.cfg.Direction&DirRx != 0 {
		s.dp.RemoveSink(r.portID, r.rx)
	}
	if r.c.cfg.Direction&DirTx != 0 {
		s.dp.(TxTapper).RemoveTxTap(r.portID, r.tx)
	}
}

// ResultView is a result as the API shows it.
type ResultView struct {
	ID, CaptureID, SourceID string
	Results                 Results
}

// Pcap writes the packets of results (merged in timestamp order when more
// than one) as pcapng to w.
func (s *Service) Pcap(w io.Writer, r Range, ids ...string) error {
	caps := make([]*Capture, 0, len(ids))
	for _, id := range ids {
		r, err := s.Run(id)
		if err != nil {
			return err
		}
		caps = append(caps, r.State.c)
	}
	_, err := WritePcapng(w, r, caps...)
	return err
}

// CheckRange checks a range and result ids before any data is written,
// so a bad request is an error rather than a broken download.
func (s *Service) CheckRange(r Range, ids ...string) error {
	if r.Start > r.End {
		return fmt.Errorf("packet_start %d is after packet_end %d: %w", r.Start, r.End, ErrInvalid)
	}
	for _, id := range ids {
		if _, err := s.Run(id); err != nil {
			return err
		}
	}
	return nil
}
