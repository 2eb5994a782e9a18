// Package zmq serves the API over ZeroMQ as a REP socket: each request
// names an operationId of api/openapi.yaml and is answered by the same
// handlers as REST.
//
// The ZMTP 3.x wire protocol is implemented here (zmtp.go), as much as a
// REP endpoint with the NULL mechanism needs, so that every size a peer
// announces is checked before it is allocated and every wait on a peer has
// a deadline; server.go runs one goroutine per connection and a bounded
// pool of requests (see Limits); dispatch.go turns a request into a call
// of the REST handler.
package zmq
