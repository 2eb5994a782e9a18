package workers

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openperfd/openperfd/packetio"
	"github.com/openperfd/openperfd/packetio/fake"
)

var broadcast = [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

func TestABondCarriesItsMembersTraffic(t *testing.T) {
	d := fake.New(1, 1, 4096)
	w := startWorkers(t, d, 1, false)
	svc := packetio.NewService(d, w)
	defer svc.Close()
	on0, on1, onBond := &countingSink{}, &countingSink{}, &countingSink{}
	w.AddSink("0", on0) // registered before the bond: must keep working
	if _, err := svc.CreateBond("bond0", packetio.BondConfig{Mode: packetio.BondLACP, Members: []string{"0", "1"}}); err != nil {
		t.Fatal(err)
	}
	w.AddSink("1", on1)
	w.AddSink("bond0", onBond)
	if got := w.TxQueues("0"); got != 1 {
		t.Fatalf("TxQueues of a member = %d, want the bond's 1", got)
	}
	// The fake bond loops its frames back to itself: what a source on a
	// member sends goes out through the bond and comes back to every
	// sink of the bond and of its members.
	job, err := svc.SendTestFrames("0", 100, 64, broadcast)
	if err != nil {
		t.Fatalf("a source on a bond member: %v", err)
	}
	<-job.Done()
	for name, s := range map[string]*countingSink{"0": on0, "1": on1, "bond0": onBond} {
		waitFor(t, "frames at the sink of "+name, func() bool { return s.pkts.Load() == 100 })
	}

	if err := svc.DeleteBond("bond0"); err != nil {
		t.Fatal(err)
	}
	if err := w.AddSource("bond0", &idleSource{1}); err == nil {
		t.Fatal("a source on a deleted bond was accepted")
	}
	// Members are themselves again: port 0's frames reach port 1 only.
	sendBroadcast(t, svc, "0", 10)
	waitFor(t, "frames at port 1 after the bond is gone", func() bool { return on1.pkts.Load() == 110 })
	time.Sleep(10 * time.Millisecond)
	if got := on0.pkts.Load(); got != 100 {
		t.Fatalf("port 0 sink saw %d frames, want 100 (its own frames go to its peer)", got)
	}
}

func TestSourcesOnABondMemberAreDetachedWithTheBond(t *testing.T) {
	d := fake.New(1, 1, 4096)
	w := startWorkers(t, d, 1, false)
	svc := packetio.NewService(d, w)
	defer svc.Close()
	if _, err := svc.CreateBond("bond0", packetio.BondConfig{Mode: packetio.BondLACP, Members: []string{"0", "1"}}); err != nil {
		t.Fatal(err)
	}
	src := &detachSource{}
	if err := w.AddSource("1", src); err != nil {
		t.Fatal(err)
	}
	w.DetachPort("bond0")
	if !src.detached.Load() {
		t.Fatal("a source routed through a detached bond was not told")
	}
}

func startWithRoles(t *testing.T, d packetio.Driver, roles []Role) *Workers {
	t.Helper()
	return startConfig(t, Config{CPUs: unpinned(len(roles)), Roles: roles, Driver: d})
}

func TestRolesSplitReceivingFromTransmitting(t *testing.T) {
	d := fake.New(1, 3, 4096) // every port has a queue per worker
	w := startWithRoles(t, d, []Role{RoleRx, RoleTx, RoleBoth})
	svc := packetio.NewService(d, w)
	defer svc.Close()
	st := w.Stats()
	// Per port, queues 0 and 2 go to worker 0 and queue 1 to worker 2.
	if st[0].RxQueues != 4 || st[1].RxQueues != 0 || st[2].RxQueues != 2 {
		t.Fatalf("rx queues per worker %d/%d/%d, want 4/0/2 (6 queues over the two receivers)",
			st[0].RxQueues, st[1].RxQueues, st[2].RxQueues)
	}
	if got := w.TxQueues("0"); got != 2 {
		t.Fatalf("TxQueues = %d, want 2 (workers 1 and 2 transmit)", got)
	}
	srcs := []*idleSource{{1}, {2}, {3}, {4}}
	for _, s := range srcs {
		if err := w.AddSource("0", s); err != nil {
			t.Fatal(err)
		}
	}
	st = w.Stats()
	if st[0].Sources != 0 || st[1].Sources != 2 || st[2].Sources != 2 {
		t.Fatalf("sources per worker %d/%d/%d, want 0/2/2", st[0].Sources, st[1].Sources, st[2].Sources)
	}
	for _, s := range srcs {
		w.RemoveSource(s)
	}
	sink := &countingSink{}
	w.AddSink("1", sink)
	sendBroadcast(t, svc, "0", 1000)
	waitFor(t, "frames at the peer", func() bool { return sink.pkts.Load() == 1000 })
}

func TestATransmitterWithoutAQueueFallsBackToOneWithAQueue(t *testing.T) {
	d := fake.New(1, 1, 4096) // one queue: only worker 0 can transmit
	w := startWithRoles(t, d, []Role{RoleRx, RoleTx})
	packetio.NewService(d, w)
	if err := w.AddSource("0", &idleSource{1}); err != nil {
		t.Fatal(err)
	}
	if st := w.Stats(); st[0].Sources != 1 {
		t.Fatalf("worker 0 runs %d sources, want 1 (the only tx queue is its)", st[0].Sources)
	}
}

func TestNewRejectsRolesThatLeaveADirectionUnserved(t *testing.T) {
	d := fake.New(1, 1, 16)
	for _, tc := range []struct {
		roles []Role
		want  string
	}{
		{[]Role{RoleRx}, "transmit"},
		{[]Role{RoleTx, RoleTx}, "receive"},
		{[]Role{RoleBoth}, ""},
		{[]Role{RoleRx, 0}, "no valid role"},
		{[]Role{RoleBoth, RoleBoth, RoleBoth}, "3 roles for 2 workers"},
	} {
		cpus := []int{-1, -1}
		if len(tc.roles) == 1 {
			cpus = cpus[:1]
		}
		_, err := New(Config{CPUs: cpus, Roles: tc.roles, Driver: d})
		if tc.want == "" {
			if err != nil {
				t.Errorf("roles %v: %v", tc.roles, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("roles %v: error %v, want one containing %q", tc.roles, err, tc.want)
		}
	}
}

// detachSource records Detached.
type detachSource struct{ detached atomic.Bool }

func (*detachSource) Pull([]*packetio.Mbuf) int { return 0 }
func (*detachSource) Sent(int, int)             {}
func (s *detachSource) Detached()               { s.detached.Store(true) }
