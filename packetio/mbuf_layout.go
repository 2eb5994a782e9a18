package packetio

import "unsafe"

// Where Mbuf keeps the fields of rte_mbuf's first cache line it mirrors.
// packetio/dpdk, which sees DPDK's struct rte_mbuf, checks every one of
// them against the C definition at compile time: a DPDK with another
// layout does not build. Nothing else should need them.
const (
	MbufOffBufAddr      = unsafe.Offsetof(Mbuf{}.bufAddr)
	MbufOffBufIOVA      = unsafe.Offsetof(Mbuf{}.bufIOVA)
	MbufOffDataOff      = unsafe.Offsetof(Mbuf{}.dataOff)
	MbufOffRefcnt       = unsafe.Offsetof(Mbuf{}.refcnt)
	MbufOffNbSegs       = unsafe.Offsetof(Mbuf{}.nbSegs)
	MbufOffPort         = unsafe.Offsetof(Mbuf{}.port)
	MbufOffOlFlags      = unsafe.Offsetof(Mbuf{}.olFlags)
	MbufOffPacketType   = unsafe.Offsetof(Mbuf{}.packetType)
	MbufOffPktLen       = unsafe.Offsetof(Mbuf{}.pktLen)
	MbufOffDataLen      = unsafe.Offsetof(Mbuf{}.dataLen)
	MbufOffVlanTCI      = unsafe.Offsetof(Mbuf{}.vlanTCI)
	MbufOffHash         = unsafe.Offsetof(Mbuf{}.hash)
	MbufOffVlanTCIOuter = unsafe.Offsetof(Mbuf{}.vlanTCIOuter)
	MbufOffBufLen       = unsafe.Offsetof(Mbuf{}.bufLen)
	MbufOffPool         = unsafe.Offsetof(Mbuf{}.pool)
	MbufMirrorLen       = unsafe.Sizeof(Mbuf{}) // bytes of rte_mbuf mirrored, from its start
)
