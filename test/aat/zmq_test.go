package aat

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/go-zeromq/zmq4"
)

type zmqReply struct {
	Code int             `json:"code"`
	Body json.RawMessage `json:"body"`
}

func zmqCall(t *testing.T, sock zmq4.Socket, op string, params, body any) zmqReply {
	t.Helper()
	req, _ := json.Marshal(map[string]any{"operation": op, "params": params, "body": body})
	if err := sock.Send(zmq4.NewMsg(req)); err != nil {
		t.Fatalf("%s: send: %v", op, err)
	}
	msg, err := sock.Recv()
	if err != nil {
		t.Fatalf("%s: recv: %v", op, err)
	}
	var r zmqReply
	if err := json.Unmarshal(msg.Bytes(), &r); err != nil {
		t.Fatalf("%s: reply %q: %v", op, msg.Bytes(), err)
	}
	return r
}

func TestZeroMQServesTheSameOperations(t *testing.T) {
	endpoint := "ipc://" + filepath.Join(t.TempDir(), "api.sock")
	d := startDaemon(t, testMode, "--modules.zmq.endpoint", endpoint)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sock := zmq4.NewReq(ctx)
	defer sock.Close()
	if err := sock.Dial(endpoint); err != nil {
		t.Fatal(err)
	}
	if r := zmqCall(t, sock, "ListPorts", nil, nil); r.Code != 200 {
		t.Fatalf("ListPorts: %+v", r)
	}
	if r := zmqCall(t, sock, "GetPort", map[string]any{"id": "nope"}, nil); r.Code != 404 {
		t.Fatalf("GetPort nope: %+v", r)
	}
	body := iface("z1", "0", "02:00:00:00:0d:01", v4("10.5.0.1", 24, ""))
	if r := zmqCall(t, sock, "CreateInterface", nil, body); r.Code != 201 {
		t.Fatalf("CreateInterface: %+v", r)
	}
	bulk := map[string]any{"items": []any{iface("z2", "1", "02:00:00:00:0d:02", v4("10.5.0.2", 24, ""))}}
	if r := zmqCall(t, sock, "BulkCreateInterfaces", nil, bulk); r.Code != 200 {
		t.Fatalf("BulkCreateInterfaces: %+v", r)
	}
	if r := zmqCall(t, sock, "CreateInterface", nil, iface("", "0", "ff:ff:ff:ff:ff:ff", nil)); r.Code != 400 {
		t.Fatalf("bad CreateInterface: %+v", r)
	}
	var list []map[string]any
	r := zmqCall(t, sock, "ListInterfaces", map[string]any{"port_id": "1"}, nil)
	if err := json.Unmarshal(r.Body, &list); err != nil || r.Code != 200 || len(list) != 1 {
		t.Fatalf("ListInterfaces port 1: %+v", r)
	}
	if r := zmqCall(t, sock, "GetInterface", map[string]any{"id": "z1"}, nil); r.Code != 200 {
		t.Fatalf("GetInterface: %+v", r)
	}
	if r := zmqCall(t, sock, "ListStacks", nil, nil); r.Code != 200 {
		t.Fatalf("ListStacks: %+v", r)
	}
	if r := zmqCall(t, sock, "GetStack", map[string]any{"id": "stack0"}, nil); r.Code != 200 {
		t.Fatalf("GetStack: %+v", r)
	}
	if r := zmqCall(t, sock, "DeleteInterface", map[string]any{"id": "z1"}, nil); r.Code != 204 {
		t.Fatalf("DeleteInterface: %+v", r)
	}
	if r := zmqCall(t, sock, "BulkDeleteInterfaces", nil, map[string]any{"ids": []string{"z2", "ghost"}}); r.Code != 204 {
		t.Fatalf("BulkDeleteInterfaces: %+v", r)
	}
	if r := zmqCall(t, sock, "NoSuchOperation", nil, nil); r.Code != 404 {
		t.Fatalf("unknown operation: %+v", r)
	}
	// REST sees what ZeroMQ did.
	var rest []map[string]any
	d.get("/interfaces", &rest)
	if len(rest) != 0 {
		t.Fatalf("REST lists %d interfaces after ZeroMQ deleted them all", len(rest))
	}
}

// zmtpGreeting is a ZMTP 3.0 greeting with the NULL mechanism.
func zmtpGreeting() []byte {
	g := make([]byte, 64)
	g[0], g[9], g[10] = 0xff, 0x7f, 3
	copy(g[12:], "NULL")
	return g
}

// zmtpReady is a READY command for a REQ socket.
func zmtpReady() []byte {
	body := append([]byte{5}, "READY"...)
	body = append(append(body, 11), "Socket-Type"...)
	body = append(binary.BigEndian.AppendUint32(body, 3), "REQ"...)
	return append([]byte{0x04, byte(len(body))}, body...)
}

// TestZeroMQSurvivesAHugeFrame: one frame header claiming 2^62 bytes, sent
// over tcp to the real daemon, used to panic it (go-zeromq allocated the
// announced size). Now the request gets a 413, the connection is closed,
// and REST and ZeroMQ go on answering, also while another connection sits
// in the handshake without a word.
func TestZeroMQSurvivesAHugeFrame(t *testing.T) {
	port := freePort(t)
	endpoint := "tcp://127.0.0.1:" + strconv.Itoa(port)
	d := startDaemon(t, testMode, "--modules.zmq.endpoint", endpoint)
	addr := "127.0.0.1:" + strconv.Itoa(port)

	silent, err := net.Dial("tcp", addr) // never greets
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()

	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(append(zmtpGreeting(), zmtpReady()...)); err != nil {
		t.Fatal(err)
	}
	// The empty delimiter, then a last frame of 2^62 bytes.
	huge := append([]byte{0x01, 0x00, 0x02}, binary.BigEndian.AppendUint64(nil, 1<<62)...)
	if _, err := c.Write(huge); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(c) // the server's greeting, READY, the reply, then its close
	if err != nil {
		t.Fatalf("reading the answer to a 2^62-byte frame: %v (got %q)", err, rest)
	}
	if !bytes.Contains(rest, []byte(`"code":413`)) {
		t.Errorf("answer to a 2^62-byte frame %q, want a 413", rest)
	}

	var v map[string]any
	d.get("/version", &v) // fails the test unless 200
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sock := zmq4.NewReq(ctx)
	defer sock.Close()
	if err := sock.Dial(endpoint); err != nil {
		t.Fatal(err)
	}
	if r := zmqCall(t, sock, "GetVersion", nil, nil); r.Code != 200 {
		t.Fatalf("ZeroMQ GetVersion after the huge frame: %+v", r)
	}
	// A three-part request: one error reply, nothing run.
	req, _ := json.Marshal(map[string]any{"operation": "DeleteInterface", "params": map[string]any{"id": "x"}})
	if err := sock.Send(zmq4.NewMsgFrom(req, []byte("a"), []byte("b"))); err != nil {
		t.Fatal(err)
	}
	msg, err := sock.Recv()
	var r zmqReply
	if err != nil || len(msg.Frames) != 1 || json.Unmarshal(msg.Frames[0], &r) != nil || r.Code != 400 {
		t.Fatalf("three-part request: %q %v, want one 400 frame", msg.Frames, err)
	}
}
