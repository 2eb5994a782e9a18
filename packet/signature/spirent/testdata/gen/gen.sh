#!/bin/sh
# gen.sh rebuilds ../vectors.json from OpenPerf's own spirent_pga sources.
# See README.md. Usage: gen.sh [output]   (default: ../vectors.json)
# OPENPERF_GIT (a bare clone of github.com/Spirent/openperf) and
# OPENPERF_REV (default HEAD) choose the sources.
set -eu
MIRROR=${OPENPERF_GIT:-/work/.mirror/Spirent+openperf/repo}
REV=${OPENPERF_REV:-HEAD}
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/../vectors.json}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

commit=$(git --git-dir="$MIRROR" rev-parse "$REV^{commit}")
# (a bare mirror may warn about blobs it lacks elsewhere in the tree)
git --git-dir="$MIRROR" archive "$commit" src/lib/spirent_pga 2>/dev/null | tar -x -C "$tmp"
pga=$tmp/src/lib/spirent_pga
test -f "$pga/common/signature.cpp" || { echo "no spirent_pga in $commit" >&2; exit 1; }

# OpenPerf's signature, fill and verify glue (common/) over the scalar
# kernels; the ISPC kernels and the start-up benchmark that picks between
# them are left out (shim/spirent_pga/functions.h binds the scalar ones).
srcs="common/signature.cpp common/fill.cpp common/verify.cpp
      scalar/encode_signatures.cpp scalar/decode_signatures.cpp
      scalar/prbs.cpp scalar/fill_constant.cpp scalar/fill_step.cpp"

# OpenPerf builds with -mpclmul on x86-64 (mk/spirent_pga.mk), which swaps
# the table CRC of common/crc.h for a carry-less multiply one (it also needs
# SSSE3; OpenPerf requires SSE4.2 anyway); build both
# and insist they agree.
for variant in table pclmul; do
    flags="-std=c++17 -O2"
    if [ "$variant" = pclmul ]; then flags="$flags -msse4.2 -mpclmul"; fi
    files=""
    for s in $srcs; do files="$files $pga/$s"; done
    # shellcheck disable=SC2086
    g++ $flags -I"$here/shim" -I"$tmp/src/lib" -I"$pga" \
        -o "$tmp/gen-$variant" "$here/driver.cpp" $files
    "$tmp/gen-$variant" "$commit" >"$tmp/$variant.json"
done
cmp "$tmp/table.json" "$tmp/pclmul.json"
cp "$tmp/table.json" "$out"
echo "wrote $out from OpenPerf $commit" >&2
