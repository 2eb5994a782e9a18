# openperfd — build, run and test. `make run` and `make test` install what
# is missing on a Debian machine (as root) before they do anything else.

GO       ?= go
BIN      := bin/openperfd
PKGS     := libdpdk-dev libpcap-dev pkg-config dpdk dpdk-dev gcc iproute2 iputils-ping iputils-arping socat util-linux radvd curl tshark dnsmasq-base python3-zmq prometheus iperf3 nginx-light
VERSION  := $(shell git describe --tags --always --dirty 2>/dev/null || echo 0.1.0-dev)
COMMIT   := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
BUILDNUM := $(shell git rev-list --count HEAD 2>/dev/null || echo 0)
# The last commit's time, not the clock's: with the same flags as last
# time `go build` finds the binary up to date and does not relink it.
BUILT    := $(shell TZ=UTC git log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ 2>/dev/null || echo 1970-01-01T00:00:00Z)
LDFLAGS  := -X main.version=$(VERSION) -X main.sourceCommit=$(COMMIT) \
            -X main.buildNumber=$(BUILDNUM) -X main.buildTime=$(BUILT)
API_PORT ?= 9000

.PHONY: all deps build shim run demo rfc2544-demo test unit aat fuzz bench pgo generate vet clean

all: build

# Install missing system packages (Debian). Skips apt when all are there.
deps:
	@missing=""; for p in $(PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  if [ "$$(id -u)" != 0 ]; then echo "need root to apt-get install$$missing" >&2; exit 1; fi; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null; \
	  apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	@command -v $(GO) >/dev/null || { echo "Go 1.26 is required (not found as '$(GO)')" >&2; exit 1; }

build: deps shim
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/openperfd
	$(GO) build -trimpath -ldflags "-X main.version=$(VERSION)" -o bin/opctl ./cmd/opctl

# The LD_PRELOAD socket shim (C only: no Go runtime in the client process).
SHIM     := bin/libopenperfd-shim.so
SHIM_SRC := $(wildcard stack/socket/shim/*.c) $(wildcard stack/socket/shim/*.h)
shim: $(SHIM)
$(SHIM): $(SHIM_SRC)
	@mkdir -p bin
	$(CC) -O2 -g -Wall -Wextra -Werror -fPIC -shared -fvisibility=hidden -o $@ $(filter %.c,$(SHIM_SRC)) -ldl -lpthread

# Start the daemon in test mode: two ring-wired ports, API on 127.0.0.1:$(API_PORT).
run: build
	./$(BIN) --modules.packetio.dpdk.test-mode -p $(API_PORT)

# The demo: openperfd in test mode on 127.0.0.1:$(DEMO_PORT), `opctl demo`
# against it (generator on port 0 into an analyzer on port 1, live rates,
# loss and latency, a summary), then the daemon is stopped (scripts/demo.sh).
DEMO_PORT    ?= 9000
DEMO_SECONDS ?= 10
DEMO_RATE    ?= 1M
demo: build
	DEMO_PORT=$(DEMO_PORT) DEMO_SECONDS=$(DEMO_SECONDS) DEMO_RATE=$(DEMO_RATE) ./scripts/demo.sh

# A short RFC 2544 run on the test-mode pair (port 1's rx policed to
# RFC2544_LIMIT frames/s so the path has a limit to find), written to
# rfc2544-report.html and .json (scripts/rfc2544-demo.sh).
RFC2544_PORT  ?= 9000
RFC2544_LIMIT ?= 20000
rfc2544-demo: build
	RFC2544_PORT=$(RFC2544_PORT) RFC2544_LIMIT=$(RFC2544_LIMIT) ./scripts/rfc2544-demo.sh

vet: deps
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed" >&2; exit 1; }

unit: deps
	$(GO) test -race -count=1 $$($(GO) list ./... | grep -v /test/aat)

aat: build
	OPENPERFD_BIN=$(CURDIR)/$(BIN) OPENPERFD_SHIM=$(CURDIR)/$(SHIM) $(GO) test -count=1 -timeout 15m ./test/aat/...

# Unit tests (race detector), then the acceptance tests on the real binary.
test: vet unit aat

# Each fuzz target for FUZZTIME (default 1m).
FUZZTIME ?= 1m
fuzz: deps
	@for t in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do \
	  for f in $$(grep -h '^func Fuzz' $$t/*_test.go | sed 's/func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do \
	    echo "== $$t $$f"; $(GO) test -run='^$$' -fuzz="^$$f$$" -fuzztime=$(FUZZTIME) -fuzzminimizetime=10s $$t || exit 1; \
	  done; \
	done

bench: build
	bash bench/run.sh

# Remake cmd/openperfd/default.pgo, the profile `go build` optimises
# openperfd and dpbench with (scripts/pgo.sh); after changing the data
# plane's hot code, run it on a quiet machine and commit the profile.
pgo: deps
	bash scripts/pgo.sh

generate:
	cd api/gen && $(GO) generate ./...

clean:
	rm -rf bin
