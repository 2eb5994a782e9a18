// Package zmq serves the API over a ZeroMQ REP socket: each request names
// an operationId of api/openapi.yaml and is answered by the same handlers
// as REST.
package zmq
