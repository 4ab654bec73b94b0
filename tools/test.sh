#!/bin/sh
# Every test: set up, build, run the suite; then build again with
# AddressSanitizer + UndefinedBehaviorSanitizer and run the suite again.
# The last line is "N passed, N failed"; the exit status is non-zero on failure.
set -u
cd "$(dirname "$0")/.."
sh tools/install-deps.sh || exit 1
status=0
passed=0
failed=0
skipped=0

run_suite () {
    dir=$1
    shift
    if [ ! -d "$dir" ]; then
        meson setup "$dir" "$@" >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log"; return 1; }
    fi
    ninja -C "$dir" || return 1
    meson test -C "$dir" --num-processes 2 --print-errorlogs
}

count () {
    set -- $(python3 tools/count-tests.py "$1/meson-logs/testlog.json")
    passed=$((passed + $1))
    failed=$((failed + $2))
    skipped=$((skipped + $3))
}

echo "== build and test =="
run_suite build-test --buildtype=debugoptimized || status=1
count build-test
echo "== a build without ONNX (protobuf-c): it compiles, and its ONNX calls say how to get them =="
# Only the engine, the command and the onnx test (about 40 s): the rest is the same code
# as above.
if [ ! -d build-noonnx ]; then
    meson setup build-noonnx --buildtype=debugoptimized -Donnx=disabled -Dgui=disabled \
        -Dcuda=disabled >build-noonnx.setup.log 2>&1 || { cat build-noonnx.setup.log; status=1; }
fi
if [ -d build-noonnx ]; then
    { ninja -C build-noonnx tests/test-onnx src/cli/dendrite &&
        meson test -C build-noonnx --no-rebuild --print-errorlogs onnx; } || status=1
    count build-noonnx
fi
echo "== build and test with AddressSanitizer + UndefinedBehaviorSanitizer =="
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp
run_suite build-asan --buildtype=debugoptimized -Db_sanitize=address,undefined -Db_lundef=false \
    -Dc_args=-fsanitize=float-cast-overflow -Dc_link_args=-fsanitize=float-cast-overflow \
    || status=1
count build-asan
# A failing program that printed no TAP line still counts as a failure.
[ $status -ne 0 ] && [ $failed -eq 0 ] && failed=1
echo "$passed passed, $failed failed, $skipped skipped"
exit $status
