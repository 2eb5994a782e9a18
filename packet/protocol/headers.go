package protocol

import "encoding/binary"

// Kind names a header type.
type Kind uint8

// Header kinds. KindIPv6Ext, KindICMP and KindICMPv6 are only produced by the
// parser; there are no builders for them.
const (
	KindNone Kind = iota
	KindEthernet
	KindVLAN
	KindMPLS
	KindIPv4
	KindIPv6
	KindIPv6Ext
	KindUDP
	KindTCP
	KindICMP
	KindICMPv6
	KindCustom
)

var kindNames = [...]string{"none", "ethernet", "vlan", "mpls", "ipv4", "ipv6",
	"ipv6-ext", "udp", "tcp", "icmp", "icmpv6", "custom"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// EtherType values the builder derives and the parser follows.
const (
	EtherTypeIPv4          = 0x0800
	EtherTypeARP           = 0x0806
	EtherTypeVLAN          = 0x8100 // 802.1Q customer tag
	EtherTypeQinQ          = 0x88a8 // 802.1ad service tag (outer tag of QinQ)
	EtherTypeQinQ9100      = 0x9100 // pre-standard outer tag, parsed only
	EtherTypeIPv6          = 0x86dd
	EtherTypeMPLS          = 0x8847
	EtherTypeMPLSMulticast = 0x8848
)

// IP protocol numbers (IPv4 protocol, IPv6 next header).
const (
	ProtoHopByHop = 0
	ProtoICMP     = 1
	ProtoIPv4     = 4
	ProtoTCP      = 6
	ProtoUDP      = 17
	ProtoIPv6     = 41
	ProtoRouting  = 43
	ProtoFragment = 44
	ProtoICMPv6   = 58
	ProtoNoNext   = 59
	ProtoDestOpts = 60
	ProtoMPLS     = 137
	ProtoEthernet = 143
)

// Header lengths in bytes as written by the builders.
const (
	EthernetLen = 14
	VLANLen     = 4
	MPLSLen     = 4
	IPv4Len     = 20 // no options
	IPv6Len     = 40
	UDPLen      = 8
	TCPLen      = 20 // no options
)

// Field offsets from the start of their header, for per-packet patching.
const (
	EthernetDstOff  = 0
	EthernetSrcOff  = 6
	EthernetTypeOff = 12

	VLANTCIOff  = 0
	VLANTypeOff = 2

	IPv4TotalLengthOff = 2
	IPv4IDOff          = 4
	IPv4TTLOff         = 8
	IPv4ProtocolOff    = 9
	IPv4ChecksumOff    = 10
	IPv4SrcOff         = 12
	IPv4DstOff         = 16

	IPv6PayloadLengthOff = 4
	IPv6NextHeaderOff    = 6
	IPv6HopLimitOff      = 7
	IPv6SrcOff           = 8
	IPv6DstOff           = 24

	UDPSrcPortOff  = 0
	UDPDstPortOff  = 2
	UDPLengthOff   = 4
	UDPChecksumOff = 6

	TCPSrcPortOff  = 0
	TCPDstPortOff  = 2
	TCPSeqOff      = 4
	TCPAckOff      = 8
	TCPChecksumOff = 16

	ICMPChecksumOff = 2 // ICMPv4 and ICMPv6
)

// Keep lists the derived fields of a header that Stack.Build must write as
// given instead of computing them. The zero value derives everything.
type Keep uint8

const (
	// KeepType keeps the next-protocol field: EtherType, IPv4 Protocol,
	// IPv6 NextHeader, MPLS bottom-of-stack bit.
	KeepType Keep = 1 << iota
	// KeepLength keeps IPv4 TotalLength, IPv6 PayloadLength, UDP Length.
	KeepLength
	// KeepChecksum keeps the IPv4 header checksum or the UDP/TCP checksum.
	KeepChecksum
)

// A Header is one header value of a Stack: Ethernet, VLAN, MPLS, IPv4, IPv6,
// UDP, TCP or Custom, as a value or a pointer.
type Header interface {
	Kind() Kind
	Len() int
}

var (
	_ Header = Ethernet{}
	_ Header = VLAN{}
	_ Header = MPLS{}
	_ Header = IPv4{}
	_ Header = IPv6{}
	_ Header = UDP{}
	_ Header = TCP{}
	_ Header = Custom{}
)

// Ethernet is an Ethernet II header. EtherType is derived from the next
// header unless Keep has KeepType or the next header is Custom or absent.
type Ethernet struct {
	Dst, Src  [6]byte
	EtherType uint16
	Keep      Keep
}

// Kind implements Header.
func (Ethernet) Kind() Kind { return KindEthernet }

// Len implements Header.
func (Ethernet) Len() int { return EthernetLen }

// Put writes h as given into b[:14].
func (h Ethernet) Put(b []byte) {
	_ = b[13]
	copy(b[0:6], h.Dst[:])
	copy(b[6:12], h.Src[:])
	binary.BigEndian.PutUint16(b[12:], h.EtherType)
}

// VLAN is an 802.1Q tag: the TCI and the EtherType after it. The tag's own
// TPID is the previous header's type field: Build derives 0x88a8 for the
// outermost of two or more stacked tags (QinQ) and 0x8100 for the others.
type VLAN struct {
	PCP       uint8  // priority, 3 bits
	DEI       bool   // drop eligible
	VID       uint16 // 12 bits
	EtherType uint16
	Keep      Keep
}

// Kind implements Header.
func (VLAN) Kind() Kind { return KindVLAN }

// Len implements Header.
func (VLAN) Len() int { return VLANLen }

// Put writes h as given into b[:4].
func (h VLAN) Put(b []byte) {
	_ = b[3]
	tci := uint16(h.PCP&7)<<13 | h.VID&0xfff
	if h.DEI {
		tci |= 1 << 12
	}
	binary.BigEndian.PutUint16(b[0:], tci)
	binary.BigEndian.PutUint16(b[2:], h.EtherType)
}

// MPLS is one label stack entry. BottomOfStack is derived (set on the last
// entry before a non-MPLS header) unless Keep has KeepType.
type MPLS struct {
	Label         uint32 // 20 bits
	TC            uint8  // traffic class, 3 bits
	BottomOfStack bool
	TTL           uint8
	Keep          Keep
}

// Kind implements Header.
func (MPLS) Kind() Kind { return KindMPLS }

// Len implements Header.
func (MPLS) Len() int { return MPLSLen }

// Put writes h as given into b[:4].
func (h MPLS) Put(b []byte) {
	v := (h.Label&0xfffff)<<12 | uint32(h.TC&7)<<9 | uint32(h.TTL)
	if h.BottomOfStack {
		v |= 1 << 8
	}
	binary.BigEndian.PutUint32(b, v)
}

// IPv4 flag bits (the top three bits of the flags/fragment field).
const (
	IPv4MoreFragments = 1
	IPv4DontFragment  = 2
	IPv4Evil          = 4 // RFC 3514
)

// IPv4 is an IPv4 header without options (20 bytes). Protocol is derived
// from the next header (UDP, TCP, IPv4, IPv6, MPLS, Ethernet) unless
// KeepType; TotalLength unless KeepLength; Checksum unless KeepChecksum.
type IPv4 struct {
	Version     uint8 // 0 is written as 4
	IHL         uint8 // header length in 32-bit words; 0 is written as 5
	DSCP        uint8 // 6 bits
	ECN         uint8 // 2 bits
	TotalLength uint16
	ID          uint16
	Flags       uint8  // IPv4MoreFragments | IPv4DontFragment | IPv4Evil
	FragOffset  uint16 // 13 bits, in 8-byte units
	TTL         uint8
	Protocol    uint8
	Checksum    uint16
	Src, Dst    [4]byte
	Keep        Keep
}

// Kind implements Header.
func (IPv4) Kind() Kind { return KindIPv4 }

// Len implements Header.
func (IPv4) Len() int { return IPv4Len }

// Put writes h as given (but for the zero Version and IHL) into b[:20].
func (h IPv4) Put(b []byte) {
	_ = b[19]
	ver, ihl := h.Version, h.IHL
	if ver == 0 {
		ver = 4
	}
	if ihl == 0 {
		ihl = 5
	}
	b[0] = ver<<4 | ihl&0xf
	b[1] = h.DSCP<<2 | h.ECN&3
	binary.BigEndian.PutUint16(b[2:], h.TotalLength)
	binary.BigEndian.PutUint16(b[4:], h.ID)
	binary.BigEndian.PutUint16(b[6:], uint16(h.Flags&7)<<13|h.FragOffset&0x1fff)
	b[8] = h.TTL
	b[9] = h.Protocol
	binary.BigEndian.PutUint16(b[10:], h.Checksum)
	copy(b[12:16], h.Src[:])
	copy(b[16:20], h.Dst[:])
}

// IPv6 is an IPv6 fixed header. NextHeader is derived like IPv4.Protocol
// unless KeepType; PayloadLength unless KeepLength.
type IPv6 struct {
	Version       uint8 // 0 is written as 6
	TrafficClass  uint8
	FlowLabel     uint32 // 20 bits
	PayloadLength uint16
	NextHeader    uint8
	HopLimit      uint8
	Src, Dst      [16]byte
	Keep          Keep
}

// Kind implements Header.
func (IPv6) Kind() Kind { return KindIPv6 }

// Len implements Header.
func (IPv6) Len() int { return IPv6Len }

// Put writes h as given (but for the zero Version) into b[:40].
func (h IPv6) Put(b []byte) {
	_ = b[39]
	ver := uint32(h.Version)
	if ver == 0 {
		ver = 6
	}
	binary.BigEndian.PutUint32(b[0:], ver<<28|uint32(h.TrafficClass)<<20|h.FlowLabel&0xfffff)
	binary.BigEndian.PutUint16(b[4:], h.PayloadLength)
	b[6] = h.NextHeader
	b[7] = h.HopLimit
	copy(b[8:24], h.Src[:])
	copy(b[24:40], h.Dst[:])
}

// UDP is a UDP header. Length is derived unless KeepLength, Checksum (over
// the pseudo-header of the nearest IP header before it) unless KeepChecksum.
type UDP struct {
	SrcPort, DstPort uint16
	Length           uint16
	Checksum         uint16
	Keep             Keep
}

// Kind implements Header.
func (UDP) Kind() Kind { return KindUDP }

// Len implements Header.
func (UDP) Len() int { return UDPLen }

// Put writes h as given into b[:8].
func (h UDP) Put(b []byte) {
	_ = b[7]
	binary.BigEndian.PutUint16(b[0:], h.SrcPort)
	binary.BigEndian.PutUint16(b[2:], h.DstPort)
	binary.BigEndian.PutUint16(b[4:], h.Length)
	binary.BigEndian.PutUint16(b[6:], h.Checksum)
}

// TCP flag bits; TCPFlagNS is the ninth bit, in the data offset byte.
const (
	TCPFlagFIN = 1 << iota
	TCPFlagSYN
	TCPFlagRST
	TCPFlagPSH
	TCPFlagACK
	TCPFlagURG
	TCPFlagECE
	TCPFlagCWR
	TCPFlagNS
)

// TCP is a TCP header without options (20 bytes). Checksum is derived
// unless KeepChecksum.
type TCP struct {
	SrcPort, DstPort uint16
	Seq, Ack         uint32
	DataOffset       uint8  // in 32-bit words; 0 is written as 5
	Reserved         uint8  // 3 bits
	Flags            uint16 // TCPFlag*, 9 bits
	Window           uint16
	Checksum         uint16
	Urgent           uint16
	Keep             Keep
}

// Kind implements Header.
func (TCP) Kind() Kind { return KindTCP }

// Len implements Header.
func (TCP) Len() int { return TCPLen }

// Put writes h as given (but for the zero DataOffset) into b[:20].
func (h TCP) Put(b []byte) {
	_ = b[19]
	doff := h.DataOffset
	if doff == 0 {
		doff = 5
	}
	binary.BigEndian.PutUint16(b[0:], h.SrcPort)
	binary.BigEndian.PutUint16(b[2:], h.DstPort)
	binary.BigEndian.PutUint32(b[4:], h.Seq)
	binary.BigEndian.PutUint32(b[8:], h.Ack)
	b[12] = doff<<4 | (h.Reserved&7)<<1 | uint8(h.Flags>>8)&1
	b[13] = uint8(h.Flags)
	binary.BigEndian.PutUint16(b[14:], h.Window)
	binary.BigEndian.PutUint16(b[16:], h.Checksum)
	binary.BigEndian.PutUint16(b[18:], h.Urgent)
}

// Custom is a header of raw bytes, written as given. The header before it
// keeps its own next-protocol value, since none can be derived.
type Custom struct {
	Data []byte
}

// Kind implements Header.
func (Custom) Kind() Kind { return KindCustom }

// Len implements Header.
func (h Custom) Len() int { return len(h.Data) }

// Put writes h.Data into b.
func (h Custom) Put(b []byte) { copy(b, h.Data) }

func (h Ethernet) keepFlags() Keep { return h.Keep }
func (h VLAN) keepFlags() Keep     { return h.Keep }
func (h MPLS) keepFlags() Keep     { return h.Keep }
func (h IPv4) keepFlags() Keep     { return h.Keep }
func (h IPv6) keepFlags() Keep     { return h.Keep }
func (h UDP) keepFlags() Keep      { return h.Keep }
func (h TCP) keepFlags() Keep      { return h.Keep }
func (Custom) keepFlags() Keep     { return 0 }
