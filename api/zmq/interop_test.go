package zmq

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/go-zeromq/zmq4"
)

// pyClient talks to the endpoint given as argv[1] with libzmq (pyzmq): REQ
// requests, a multi-part REQ request, a DEALER with the REQ envelope, and
// an idle spell with ZMTP heartbeats on (a missing PONG would show as a
// disconnect on the monitor). It prints one JSON line: the frames of each
// reply, and the monitor events seen.
const pyClient = `
import json, sys, time, zmq
from zmq.utils.monitor import recv_monitor_message
ep = sys.argv[1]
ctx = zmq.Context()
def sock(kind):
    s = ctx.socket(kind)
    for opt, v in ((zmq.RCVTIMEO, 5000), (zmq.SNDTIMEO, 5000), (zmq.LINGER, 0),
                   (zmq.HEARTBEAT_IVL, 100), (zmq.HEARTBEAT_TIMEOUT, 400)):
        s.setsockopt(opt, v)
    return s
out = {"replies": [], "events": []}
req = sock(zmq.REQ)
mon = req.get_monitor_socket()
req.connect(ep)
def call(*frames):
    req.send_multipart([f.encode() for f in frames])
    out["replies"].append([f.decode() for f in req.recv_multipart()])
call('{"operation":"GetVersion"}')
call('{"operation":"GetPort","params":{"id":"nope"}}')
call('{"operation":"GetVersion"}', 'x', 'y')
time.sleep(1.2)
call('{"operation":"GetVersion"}')
while mon.poll(100):
    out["events"].append(recv_monitor_message(mon)["event"])
dealer = sock(zmq.DEALER)
dealer.connect(ep)
dealer.send_multipart([b"", b'{"operation":"GetVersion"}'])
out["replies"].append([f.decode() for f in dealer.recv_multipart()])
print(json.dumps(out))
`

// pyZMQ is a python3 that has pyzmq: Debian's (python3-zmq installs it
// for /usr/bin/python3, which another python3 on the PATH may hide), else
// the PATH's. Without one the test is skipped, unless CI=true, where a
// missing prerequisite fails it (the Makefile installs python3-zmq).
func pyZMQ(t *testing.T) string {
	t.Helper()
	var errs []string
	for _, py := range []string{"/usr/bin/python3", "python3"} {
		out, err := exec.Command(py, "-c", "import zmq").CombinedOutput()
		if err == nil {
			return py
		}
		errs = append(errs, fmt.Sprintf("%s: %v %s", py, err, strings.TrimSpace(string(out))))
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("python3 with pyzmq (Debian python3-zmq) is needed, and CI must not skip: %s", strings.Join(errs, "; "))
	}
	t.Skipf("python3 with pyzmq (Debian python3-zmq) is missing: %s", strings.Join(errs, "; "))
	return ""
}

// TestLibzmqClients: the reference implementation, as REQ and DEALER,
// over both transports.
func TestLibzmqClients(t *testing.T) {
	py := pyZMQ(t)
	for _, ep := range []string{"tcp://127.0.0.1:0", ipcEndpoint(t)} {
		t.Run(strings.Split(ep, ":")[0], func(t *testing.T) {
			s, _ := start(t, newHandler(t), ep)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			raw, err := exec.CommandContext(ctx, py, "-c", pyClient, s.Addr()).CombinedOutput()
			if err != nil {
				t.Fatalf("pyzmq client: %v\n%s", err, raw)
			}
			var out struct {
				Replies [][]string
				Events  []int
			}
			if err := json.Unmarshal(raw, &out); err != nil {
				t.Fatalf("pyzmq output %q: %v", raw, err)
			}
			wantCodes := []int{200, 404, 400, 200, 200}
			if len(out.Replies) != len(wantCodes) {
				t.Fatalf("replies %q, want %d", out.Replies, len(wantCodes))
			}
			for i, frames := range out.Replies {
				if i == len(out.Replies)-1 { // DEALER: the envelope too
					if len(frames) != 2 || frames[0] != "" {
						t.Errorf("DEALER reply %q, want the empty delimiter and one frame", frames)
						continue
					}
					frames = frames[1:]
				}
				var r reply
				if len(frames) != 1 || json.Unmarshal([]byte(frames[0]), &r) != nil || r.Code != wantCodes[i] {
					t.Errorf("reply %d: %q, want one frame with code %d", i, frames, wantCodes[i])
				}
			}
			const disconnected = 0x200 // ZMQ_EVENT_DISCONNECTED
			for _, e := range out.Events {
				if e == disconnected {
					t.Errorf("libzmq disconnected (heartbeat not answered?); events %v", out.Events)
				}
			}
		})
	}
}

// TestGoZeroMQMultipart: go-zeromq's REQ sending three parts gets one
// error reply and can go on.
func TestGoZeroMQMultipart(t *testing.T) {
	s, _ := start(t, newHandler(t), "tcp://127.0.0.1:0")
	c := dial(t, s.Addr())
	if err := c.sock.Send(zmq4.NewMsgFrom([]byte(`{"operation":"GetVersion"}`), []byte("x"), []byte("y"))); err != nil {
		t.Fatal(err)
	}
	msg, err := c.sock.Recv()
	if err != nil {
		t.Fatal(err)
	}
	var r reply
	if len(msg.Frames) != 1 || json.Unmarshal(msg.Frames[0], &r) != nil || r.Code != 400 {
		t.Fatalf("multi-part request: reply %q, want one 400 frame", msg.Frames)
	}
	if code, _ := c.call(t, `{"operation":"GetVersion"}`); code != 200 {
		t.Fatalf("next request: %d", code)
	}
}
