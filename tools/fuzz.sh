#!/bin/sh
# Coverage-guided fuzzing of one parser with libFuzzer (clang), e.g.
#   sh tools/fuzz.sh safetensors 300            # 300 seconds
#   sh tools/fuzz.sh model 600 -jobs=1          # more arguments go to libFuzzer
# Targets: idx csv safetensors experiment model resume-state onnx (tests/fuzz/fuzz-*.c).
#
# Needs clang and libFuzzer's runtime (Debian 12: apt-get install clang
# libclang-rt-14-dev); a developer tool, so tools/install-deps.sh leaves them out.
#
# The engine library is built in build-fuzz with clang and -fsanitize=fuzzer-no-link
# besides address,undefined: libFuzzer is guided by the edges it sees, and without
# that flag it sees only the harness, never the parser it is meant to explore.
# New crashing inputs land in build-fuzz/artifacts-<target>/; once understood, add
# them (minimised: fuzz-<target>-libfuzzer -minimize_crash=1 -runs=10000 FILE) to
# tests/fuzz/corpus/<target>/, where `meson test --suite fuzz` replays them.
set -e
cd "$(dirname "$0")/.."
usage="usage: tools/fuzz.sh TARGET [SECONDS [LIBFUZZER-OPTIONS...]]"
target=${1:?$usage}
seconds=${2:-60}
shift
[ $# -gt 0 ] && shift
if [ ! -f tests/fuzz/fuzz-$target.c ]; then
    targets=$(cd tests/fuzz && ls fuzz-*.c | sed 's/^fuzz-//; s/\.c$//' | tr '\n' ' ')
    echo "tools/fuzz.sh: no fuzz target '$target'; the targets are: $targets" >&2
    exit 2
fi
if ! command -v clang >/dev/null; then
    echo "tools/fuzz.sh: clang is missing (Debian: apt-get install clang libclang-rt-14-dev)" >&2
    exit 2
fi
dir=build-fuzz
instrument=-fsanitize=fuzzer-no-link
# UBSan findings stop the run (and are saved) instead of scrolling past.
strict=-fno-sanitize-recover=undefined
if [ ! -d $dir ]; then
    CC=clang meson setup $dir --buildtype=debugoptimized -Db_sanitize=address,undefined \
        -Db_lundef=false -Dgui=disabled -Dcuda=disabled \
        "-Dc_args=$instrument $strict" >/dev/null
elif ! meson introspect --buildoptions $dir | grep -q -- "$instrument"; then
    # a folder made before the library was instrumented
    meson configure $dir "-Dc_args=$instrument $strict" >/dev/null
fi
ninja -C $dir src/engine/libdendrite.a >/dev/null
# the engine's folders with public headers, as src/engine/meson.build lists them
engine_inc=$(printf -- '-Isrc/engine/%s ' core backend layers data optim network tracker run)
clang -g -O1 -fsanitize=fuzzer,address,undefined $strict -DDN_LIBFUZZER $engine_inc -I$dir \
    $(pkg-config --cflags glib-2.0 json-glib-1.0) tests/fuzz/fuzz-$target.c \
    $dir/src/engine/libdendrite.a $(pkg-config --libs glib-2.0 gio-2.0 json-glib-1.0 zlib) \
    -lopenblas -lm -fopenmp -o $dir/fuzz-$target-libfuzzer
mkdir -p $dir/corpus-$target $dir/artifacts-$target
exec $dir/fuzz-$target-libfuzzer -max_total_time="$seconds" \
    -artifact_prefix=$dir/artifacts-$target/ "$@" $dir/corpus-$target tests/fuzz/corpus/$target
