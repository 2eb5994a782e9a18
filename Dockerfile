# openperfd and opctl on Debian bookworm (DPDK 22.11 from Debian's packages).
#
#   docker build -t openperfd .
#   docker run --rm -p 9000:9000 openperfd            # test mode: two ring-wired ports
#   docker run --rm -p 9000:9000 openperfd --modules.api.insecure -d "--vdev=net_null0"
#   docker run --rm openperfd doctor                  # what the host lacks for NICs
#
# The entrypoint keeps the API on 0.0.0.0 (so a published port reaches
# it); arguments after the image name replace only CMD, the test-mode
# defaults, and add to that. Beyond loopback openperfd wants a token and
# TLS or --modules.api.insecure, so give one of them with your arguments.
#
# The image runs as root, on purpose: DPDK's EAL keeps its runtime directory
# under /var/run/dpdk and the ZeroMQ socket goes to /var/run/openperfd;
# workers pin themselves to CPUs; net_af_packet needs raw sockets, net_tap
# needs /dev/net/tun (--device /dev/net/tun --cap-add NET_ADMIN), and real
# NICs need hugepages and device access (--privileged). A non-root user can
# do none of that, so no USER is set. Without hugepages (the default here)
# test mode and net_null need no extra privileges.

# --- build: Go 1.26 on bookworm, with the DPDK and libpcap headers ----------
FROM golang:1.26-bookworm AS build

# Debian's DPDK 22.11 and libpcap; versions follow bookworm's security updates.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends libdpdk-dev libpcap-dev pkg-config gcc \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .

ARG VERSION=0.1.0-dev
ARG COMMIT=unknown
RUN go build -trimpath -buildvcs=false \
      -ldflags "-X main.version=${VERSION} -X main.sourceCommit=${COMMIT}" \
      -o /out/openperfd ./cmd/openperfd \
 && CGO_ENABLED=0 go build -trimpath -buildvcs=false \
      -ldflags "-X main.version=${VERSION}" \
      -o /out/opctl ./cmd/opctl

# --- run: bookworm-slim with only DPDK's runtime libraries -------------------
FROM debian:bookworm-slim

# Linked by openperfd (ldd): eal, ethdev, mbuf, mempool, ring, net-ring,
# net-bond, libpcap0.8 (their dependencies come along). Loaded by EAL from
# its plugin directory at start: mempool-ring (without it no mbuf pool can
# be created); the vdev drivers net-null, net-af-packet, net-tap, net-af-xdp
# (kernel interfaces through XDP sockets) and net-memif (shared memory to
# another process); the NIC drivers i40e (X710/XL710), ice (E810), ixgbe
# (82599/X540/X550), mlx5 (ConnectX-4 and later, with rdma-core), virtio
# and vmxnet3 (VMs). Binding NICs to vfio-pci is done on the host.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      librte-eal23 librte-ethdev23 librte-mbuf23 librte-mempool23 librte-ring23 \
      librte-net-ring23 librte-net-bond23 librte-mempool-ring23 \
      librte-net-null23 librte-net-af-packet23 librte-net-tap23 \
      librte-net-af-xdp23 librte-net-memif23 \
      librte-net-i40e23 librte-net-ice23 librte-net-ixgbe23 librte-net-mlx5-23 \
      librte-net-virtio23 librte-net-vmxnet3-23 \
      libpcap0.8 \
 && rm -rf /var/lib/apt/lists/*

COPY --from=build /out/openperfd /out/opctl /usr/local/bin/

# opctl (the health check, docker exec) finds the API here; change it
# together with --modules.api.port.
ENV OPCTL_SERVER=http://127.0.0.1:9000
EXPOSE 9000
# opctl exits 2 when the daemon is unreachable; Docker wants 1 for unhealthy.
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
  CMD ["sh", "-c", "opctl --timeout 3s version >/dev/null || exit 1"]

# The API address stays in the entrypoint: arguments given to docker run
# replace CMD only, and a container is reached through its published port.
ENTRYPOINT ["openperfd", "--modules.api.address", "0.0.0.0"]
# 0.0.0.0 is beyond loopback, which openperfd serves only with a token and
# TLS or with --modules.api.insecure; a test-mode container is reached
# through its published port, so the default runs insecure. For anything
# else mount a token and a certificate and pass --modules.api.token-file,
# --modules.api.tls-cert and --modules.api.tls-key instead.
CMD ["--modules.packetio.dpdk.test-mode", "--modules.api.insecure"]
