package fib

import (
	"sync"
	"testing"
	"time"
)

// synchronizeAsync starts q.Synchronize and returns a channel closed when
// it returns.
func synchronizeAsync(q *QSBR) <-chan struct{} {
	done := make(chan struct{})
	go func() { q.Synchronize(); close(done) }()
	return done
}

func returnsWithin(done <-chan struct{}, d time.Duration) bool {
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

// blocked is how long a Synchronize that should be waiting is given to
// return anyway; returned is how long one that should not wait may take.
const (
	blocked  = 50 * time.Millisecond
	returned = 5 * time.Second
)

func TestSynchronizeReturnsAtOnceWhenNoReaderIsOnline(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(q *QSBR)
	}{
		{"no readers", func(*QSBR) {}},
		{"offline readers", func(q *QSBR) { q.Register().Offline(); q.Register().Offline() }},
		{"unregistered reader", func(q *QSBR) { q.Register().Unregister() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := NewQSBR()
			tc.setup(q)
			if !returnsWithin(synchronizeAsync(q), returned) {
				t.Fatal("Synchronize did not return")
			}
		})
	}
}

func TestSynchronizeWaitsForAnOnlineReaderUntilItCheckpoints(t *testing.T) {
	q := NewQSBR()
	r := q.Register() // online, holding whatever it read
	done := synchronizeAsync(q)
	if returnsWithin(done, blocked) {
		t.Fatal("Synchronize returned while an online reader had not checkpointed")
	}
	r.Checkpoint()
	if !returnsWithin(done, returned) {
		t.Fatal("Synchronize did not return after the reader checkpointed")
	}
}

func TestSynchronizeDoesNotWaitForAReaderThatGoesOffline(t *testing.T) {
	for _, tc := range []struct {
		name    string
		release func(r *Reader)
	}{
		{"offline", (*Reader).Offline},
		{"unregister", (*Reader).Unregister},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := NewQSBR()
			r := q.Register()
			done := synchronizeAsync(q)
			if returnsWithin(done, blocked) {
				t.Fatal("Synchronize returned before the reader went offline")
			}
			tc.release(r)
			if !returnsWithin(done, returned) {
				t.Fatal("Synchronize waits for a reader that is offline")
			}
		})
	}
}

func TestSynchronizeWaitsForAReaderThatCameBackOnline(t *testing.T) {
	q := NewQSBR()
	r := q.Register()
	r.Offline()
	q.Synchronize()
	r.Online()
	done := synchronizeAsync(q)
	if returnsWithin(done, blocked) {
		t.Fatal("Synchronize ignored a reader that came back online")
	}
	r.Checkpoint()
	if !returnsWithin(done, returned) {
		t.Fatal("Synchronize did not return after the checkpoint")
	}
}

func TestSynchronizeNudgesABlockedReaderOnceAndWaitsForItsCheckpoint(t *testing.T) {
	q := NewQSBR()
	nudged := make(chan struct{}, 4)
	r := q.RegisterNudged(func() { nudged <- struct{}{} })
	done := synchronizeAsync(q)
	select {
	case <-nudged:
	case <-time.After(returned):
		t.Fatal("Synchronize did not nudge a reader that was behind")
	}
	if returnsWithin(done, blocked) {
		t.Fatal("Synchronize returned after the nudge, before the checkpoint")
	}
	if len(nudged) != 0 {
		t.Fatalf("nudged %d more times in one Synchronize", len(nudged))
	}
	r.Checkpoint()
	if !returnsWithin(done, returned) {
		t.Fatal("Synchronize did not return after the checkpoint")
	}
}

func TestSynchronizeDoesNotNudgeAReaderThatIsOfflineOrCurrent(t *testing.T) {
	q := NewQSBR()
	nudges := 0
	off := q.RegisterNudged(func() { nudges++ })
	off.Offline()
	q.Synchronize()
	if nudges != 0 {
		t.Fatalf("an offline reader was nudged %d times", nudges)
	}
}

func TestCheckpointOnAnOfflineReaderBringsItOnline(t *testing.T) {
	q := NewQSBR()
	r := q.Register()
	r.Offline()
	r.Checkpoint()
	done := synchronizeAsync(q)
	if returnsWithin(done, blocked) {
		t.Fatal("Synchronize ignored a reader that checkpointed after Offline")
	}
	r.Offline()
	<-done
}

func TestReaderGoingOnlineSeesWhatWasPublishedBeforeASynchronizeThatSkippedIt(t *testing.T) {
	q := NewQSBR()
	tab := NewTable[int, int](q)
	r := q.Register()
	r.Offline()
	if err := tab.Insert(0, 1, 1); err != nil {
		t.Fatal(err)
	}
	q.Synchronize() // does not wait: r is offline
	r.Online()
	if _, ok := tab.Snapshot(0).Lookup(1); !ok {
		t.Fatal("a reader that went online after Synchronize sees an older snapshot")
	}
}

func TestRegisterUnregisterAndSynchronizeAreSafeConcurrently(t *testing.T) {
	q := NewQSBR()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				r := q.Register()
				for range 10 {
					r.Checkpoint()
				}
				r.Unregister()
			}
		})
	}
	for range 200 {
		q.Synchronize()
	}
	close(stop)
	wg.Wait()
	if n := len(*q.readers.Load()); n != 0 {
		t.Fatalf("%d readers left after all unregistered", n)
	}
}
