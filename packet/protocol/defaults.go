package protocol

// OpenPerf's values for the header fields a traffic definition leaves
// out; a header built from a definition starts from these. Build itself
// leaves zero fields zero.
const (
	// DefaultTTL is the IPv4 time to live, the IPv6 hop limit and the
	// MPLS TTL.
	DefaultTTL = 64
	// DefaultPort is the UDP and TCP source and destination port.
	DefaultPort = 3357
	// DefaultIPv4Protocol ("experimental") is the protocol of an IPv4
	// header that no header Build knows follows.
	DefaultIPv4Protocol = 254
	// DefaultIPv6NextHeader ("no next header") is the next header of an
	// IPv6 header that no header Build knows follows.
	DefaultIPv6NextHeader = 59
)

// NewMPLS returns an MPLS label with OpenPerf's defaults.
func NewMPLS() MPLS { return MPLS{TTL: DefaultTTL} }

// NewIPv4 returns an IPv4 header with OpenPerf's defaults.
func NewIPv4() IPv4 { return IPv4{TTL: DefaultTTL} }

// NewIPv6 returns an IPv6 header with OpenPerf's defaults.
func NewIPv6() IPv6 { return IPv6{HopLimit: DefaultTTL} }

// NewUDP returns a UDP header with OpenPerf's defaults.
func NewUDP() UDP { return UDP{SrcPort: DefaultPort, DstPort: DefaultPort} }

// NewTCP returns a TCP header with OpenPerf's defaults.
func NewTCP() TCP { return TCP{SrcPort: DefaultPort, DstPort: DefaultPort} }
