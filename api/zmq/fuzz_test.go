package zmq

import (
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"
)

// FuzzFrames feeds arbitrary bytes to a connection after a good handshake:
// whatever the frames say, the server neither panics nor hangs, and the
// connection ends when the peer goes.
func FuzzFrames(f *testing.F) {
	msg := func(frames ...string) []byte {
		var b []byte
		for i, fr := range frames {
			var flags byte
			if i < len(frames)-1 {
				flags = flagMore
			}
			b = append(append(b, frameHeader(flags, len(fr))...), fr...)
		}
		return b
	}
	req := `{"operation":"GetVersion"}`
	for _, seed := range [][]byte{
		msg("", req),
		msg("", req, req, req),
		msg(""),
		msg(req),
		msg("id", "", `{"operation":"GetPort","params":{"id":"0"}}`),
		msg("", `{"operation":"CreatePort","body":{"kind":"bond","config":{"bond":{"mode":"lag_802_3_ad","ports":["2"]}}}}`),
		append([]byte{flagMore, 0, flagLong}, binary.BigEndian.AppendUint64(nil, 1<<62)...),
		append([]byte{flagMore, 0, flagLong}, binary.BigEndian.AppendUint64(nil, 300)...),
		append(command("PING", []byte{0, 1, 'x'}), msg("", req)...),
		command("ERROR", shortString("x")),
		command("READY", property("Socket-Type", "REQ")),
		{flagCommand | flagMore, 0},
		{0xff, 0xff},
		append(msg("", req), msg("", "{")...),
	} {
		f.Add(seed)
	}
	s, err := newServer(newHandler(f), nil, Limits{MaxMessageSize: 64 << 10, HandshakeTimeout: time.Second,
		ReadTimeout: time.Second, WriteTimeout: time.Second, Workers: 2, Queue: 2})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = s.Close() })
	hello := append(append([]byte{}, greeting[:]...), command("READY", property("Socket-Type", "DEALER"))...)
	f.Fuzz(func(t *testing.T, data []byte) {
		client, server := net.Pipe()
		st, ok := s.track(server)
		if !ok {
			t.Fatal("server refused the connection")
		}
		done := make(chan struct{})
		go func() {
			s.serveConn(server, st)
			close(done)
		}()
		drained := make(chan struct{})
		go func() {
			_, _ = io.Copy(io.Discard, client)
			close(drained)
		}()
		_ = client.SetWriteDeadline(time.Now().Add(5 * time.Second))
		if _, err := client.Write(hello); err != nil {
			t.Fatalf("handshake: %v", err)
		}
		_, _ = client.Write(data) // the server may hang up part way
		client.Close()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("connection still served 5 s after the peer left")
		}
		<-drained
	})
}
