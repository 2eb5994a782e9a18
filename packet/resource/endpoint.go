package resource

// Endpoint is where a resource sends or listens: a port, or an interface
// on one. Generators call it their target, analyzers and captures their
// source.
type Endpoint struct {
	PortID    string
	Interface string  // empty for a port
	MAC       [6]byte // the port's or the interface's MAC address
	// MaxFrameLen is the longest frame (FCS included) the port takes; 0
	// means no limit beyond the resource's own.
	MaxFrameLen int
}

// Endpoints looks up endpoint ids: port ids and interface ids (OpenPerf
// lets a resource name either).
type Endpoints interface {
	// Endpoint returns the endpoint id names, or an error wrapping
	// packetio.ErrNotFound when it is neither a port nor an interface.
	Endpoint(id string) (Endpoint, error)
}
