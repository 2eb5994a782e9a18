package aat

import (
	"context"
	"encoding/json"
	"path/filepath"
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
