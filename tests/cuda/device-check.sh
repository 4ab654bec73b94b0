#!/bin/sh
# device-check.sh OUTDIR: the CUDA backend's one check on a GPU machine.
#
# Run from the repository root on a machine with the CUDA toolkit (nvcc), a C compiler and
# Python with meson, ninja and PyTorch, and no network: the build's libraries come from
# .device-deps/debs (tools/prepare-device-deps.sh fills it), unpacked into a private
# prefix. Builds the project (engine, CLI, tests, bench; no GUI, no ONNX), runs the parity
# suite (test-cuda) and the benchmark (bench/cuda: dendrite's CUDA backend and PyTorch
# eager on the same GPU), and writes the logs and results-cuda.json to OUTDIR. Without a
# GPU the build still runs and the suite reports every case skipped, saying why.
set -u
out=${1:?usage: tests/cuda/device-check.sh OUTDIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)
root=$(pwd)
deps=${DN_DEVICE_DEPS:-$root/.device-deps}
prefix=${TMPDIR:-/tmp}/dn-device-prefix
build=${DN_DEVICE_BUILD:-$root/build-device}
log() { echo "device-check: $*" | tee -a "$out/device-check.log"; }
: >"$out/device-check.log"
start=$(date +%s)

# 1. the libraries, unpacked (no dpkg database, no maintainer scripts)
rm -rf "$prefix" && mkdir -p "$prefix"
for deb in "$deps"/debs/*.deb; do
    dpkg-deb -x "$deb" "$prefix" 2>>"$out/device-check.log" ||
        (cd "$prefix" && ar p "$deb" "$(ar t "$deb" | grep '^data\.tar')" | tar -x -f - --auto-compress) ||
        { log "could not unpack $deb"; exit 1; }
done
lib=$prefix/usr/lib/x86_64-linux-gnu
# Debian picks the BLAS through update-alternatives, which an unpacked tree lacks
cp "$lib/openblas-pthread/pkgconfig/openblas.pc" "$lib/pkgconfig/openblas.pc"
export PKG_CONFIG_SYSROOT_DIR="$prefix"
export PKG_CONFIG_PATH="$lib/pkgconfig:$prefix/usr/share/pkgconfig"
export PKG_CONFIG_LIBDIR="$PKG_CONFIG_PATH"
export LD_LIBRARY_PATH="$lib:$lib/openblas-pthread:$prefix/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
export LIBRARY_PATH="$lib:$lib/openblas-pthread:$prefix/lib/x86_64-linux-gnu"
export PATH="$prefix/usr/bin:/usr/local/cuda/bin:$PATH"
command -v pkg-config >/dev/null || ln -sf pkgconf "$prefix/usr/bin/pkg-config"
meson=meson
command -v meson >/dev/null || meson="python3 -m mesonbuild.mesonmain"
log "libraries unpacked into $prefix ($(ls "$deps"/debs | wc -l) packages)"
nvidia-smi -L >>"$out/device-check.log" 2>&1 || log "nvidia-smi: no GPU listed"

# 2. the build
rm -rf "$build"
if ! $meson setup "$build" --buildtype=release -Dgui=disabled -Donnx=disabled -Dcuda=enabled \
        -Dgpu_arch=80,90 >"$out/build.log" 2>&1 ||
   ! ninja -C "$build" src/cli/dendrite tests/test-cuda bench/cuda/dn-bench-cuda \
        >>"$out/build.log" 2>&1; then
    log "the build failed: see build.log"; tail -30 "$out/build.log"; exit 1
fi
log "built in $(( $(date +%s) - start )) s"

# 3. the parity suite
export G_TEST_SRCDIR="$root/tests" G_TEST_BUILDDIR="$build/tests" DN_DATA_DIR="$root/data"
"$build/tests/test-cuda" --tap >"$out/test-cuda.log" 2>&1
suite=$?
log "parity suite: exit $suite; $(grep -c '^ok' "$out/test-cuda.log") ok," \
    "$(grep -c '^not ok' "$out/test-cuda.log") not ok, $(grep -c '# SKIP' "$out/test-cuda.log") skipped"
grep -m1 '# SKIP' "$out/test-cuda.log" | tee -a "$out/device-check.log"

# 4. the benchmark, dendrite and PyTorch on the same GPU
"$build/bench/cuda/dn-bench-cuda" "$root/data/examples" --json "$out/dendrite-cuda.json" \
    >"$out/bench.log" 2>&1
bench=$?
python3 "$root/bench/cuda/pytorch-cuda.py" --json "$out/pytorch-cuda.json" >>"$out/bench.log" 2>&1
torch=$?
cat "$out/bench.log" | tee -a "$out/device-check.log"
python3 - "$out" <<'PY'
import json, os, sys
out = sys.argv[1]
res = {}
for name, key in (("dendrite-cuda.json", "dendrite"), ("pytorch-cuda.json", "pytorch")):
    p = os.path.join(out, name)
    if os.path.exists(p):
        with open(p) as f:
            res[key] = json.load(f)
if "dendrite" in res and "pytorch" in res:
    for b in (64, 512):
        k = f"cnn_batch_{b}_samples_per_s"
        res[f"speedup_batch_{b}"] = res["dendrite"][k] / res["pytorch"][k]
with open(os.path.join(out, "results-cuda.json"), "w") as f:
    json.dump(res, f, indent=2)
PY
log "bench exit $bench, pytorch exit $torch; results-cuda.json written;" \
    "$(( $(date +%s) - start )) s in all"
[ "$suite" -eq 0 ] && [ "$bench" -eq 0 ] && [ "$torch" -eq 0 ]
