package dpdk

/*
#include <stddef.h>
#include <rte_mbuf.h>

#include "shim.h"

// Where DPDK keeps the rte_mbuf fields packetio.Mbuf mirrors.
enum {
	op_mbuf_buf_addr = offsetof(struct rte_mbuf, buf_addr),
	op_mbuf_buf_iova = offsetof(struct rte_mbuf, buf_iova),
	op_mbuf_data_off = offsetof(struct rte_mbuf, data_off),
	op_mbuf_refcnt = offsetof(struct rte_mbuf, refcnt),
	op_mbuf_nb_segs = offsetof(struct rte_mbuf, nb_segs),
	op_mbuf_port = offsetof(struct rte_mbuf, port),
	op_mbuf_ol_flags = offsetof(struct rte_mbuf, ol_flags),
	op_mbuf_packet_type = offsetof(struct rte_mbuf, packet_type),
	op_mbuf_pkt_len = offsetof(struct rte_mbuf, pkt_len),
	op_mbuf_data_len = offsetof(struct rte_mbuf, data_len),
	op_mbuf_vlan_tci = offsetof(struct rte_mbuf, vlan_tci),
	op_mbuf_hash = offsetof(struct rte_mbuf, hash),
	op_mbuf_vlan_tci_outer = offsetof(struct rte_mbuf, vlan_tci_outer),
	op_mbuf_buf_len = offsetof(struct rte_mbuf, buf_len),
	op_mbuf_pool = offsetof(struct rte_mbuf, pool),
	op_mbuf_pool_end = offsetof(struct rte_mbuf, pool) + sizeof(((struct rte_mbuf *)0)->pool),
};
*/
import "C"

import (
	"github.com/openperfd/openperfd/clock"
	"github.com/openperfd/openperfd/packetio"
)

// packetio.Mbuf must lay out its fields where DPDK's struct rte_mbuf has
// them: Go code reads and writes buffers through it. Each line below
// indexes a one-element array with the difference of the two offsets, so
// any mismatch is a compile error (index out of range, or a negative
// uintptr constant).
var _ = [1]struct{}{}[packetio.MbufOffBufAddr-C.op_mbuf_buf_addr]
var _ = [1]struct{}{}[packetio.MbufOffBufIOVA-C.op_mbuf_buf_iova]
var _ = [1]struct{}{}[packetio.MbufOffDataOff-C.op_mbuf_data_off]
var _ = [1]struct{}{}[packetio.MbufOffRefcnt-C.op_mbuf_refcnt]
var _ = [1]struct{}{}[packetio.MbufOffNbSegs-C.op_mbuf_nb_segs]
var _ = [1]struct{}{}[packetio.MbufOffPort-C.op_mbuf_port]
var _ = [1]struct{}{}[packetio.MbufOffOlFlags-C.op_mbuf_ol_flags]
var _ = [1]struct{}{}[packetio.MbufOffPacketType-C.op_mbuf_packet_type]
var _ = [1]struct{}{}[packetio.MbufOffPktLen-C.op_mbuf_pkt_len]
var _ = [1]struct{}{}[packetio.MbufOffDataLen-C.op_mbuf_data_len]
var _ = [1]struct{}{}[packetio.MbufOffVlanTCI-C.op_mbuf_vlan_tci]
var _ = [1]struct{}{}[packetio.MbufOffHash-C.op_mbuf_hash]
var _ = [1]struct{}{}[packetio.MbufOffVlanTCIOuter-C.op_mbuf_vlan_tci_outer]
var _ = [1]struct{}{}[packetio.MbufOffBufLen-C.op_mbuf_buf_len]
var _ = [1]struct{}{}[packetio.MbufOffPool-C.op_mbuf_pool]
var _ = [1]struct{}{}[packetio.MbufMirrorLen-C.op_mbuf_pool_end]

// op_tx_burst keeps the lengths of at most OP_TX_BURST_MAX packets per
// call: a source's whole burst.
var _ = [1]struct{}{}[packetio.TxBurstSize-C.OP_TX_BURST_MAX]

// The rx path converts device ticks with clock.Conversion's fixed point,
// and records the times of at most a worker's burst.
var _ = [1]struct{}{}[clock.ConversionShift-C.OP_TS_SHIFT]
var _ = [1]struct{}{}[packetio.BurstSize-C.OP_RX_TS_MAX]
