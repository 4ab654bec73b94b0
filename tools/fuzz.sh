#!/bin/sh
# Coverage-guided fuzzing of one parser with libFuzzer (clang), e.g.
#   sh tools/fuzz.sh safetensors 300      # 300 seconds
# Needs clang and libclang-rt-14-dev. New crashing inputs land in the current
# folder as crash-*; add them to tests/fuzz/corpus/<parser>/ once fixed.
set -e
cd "$(dirname "$0")/.."
target=${1:?usage: tools/fuzz.sh idx|csv|safetensors|experiment [seconds]}
seconds=${2:-60}
dir=build-fuzz
if [ ! -d $dir ]; then
    CC=clang meson setup $dir --buildtype=debugoptimized -Db_sanitize=address,undefined \
        -Db_lundef=false -Dgui=disabled -Dcuda=disabled >/dev/null
fi
ninja -C $dir src/engine/libdendrite.a >/dev/null
clang -g -O1 -fsanitize=fuzzer,address,undefined -DDN_LIBFUZZER -Isrc/engine -I$dir \
    $(pkg-config --cflags glib-2.0 json-glib-1.0) tests/fuzz/fuzz-$target.c \
    $dir/src/engine/libdendrite.a $(pkg-config --libs glib-2.0 gio-2.0 json-glib-1.0 zlib) \
    -lopenblas -lm -fopenmp -o $dir/fuzz-$target-libfuzzer
mkdir -p $dir/corpus-$target
exec $dir/fuzz-$target-libfuzzer -max_total_time="$seconds" $dir/corpus-$target tests/fuzz/corpus/$target
