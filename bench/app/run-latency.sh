#!/bin/sh
# Main-loop latency and memory of Dendrite Studio while a CNN trains:
#   sh bench/app/run-latency.sh [BUILD_DIR] [SECONDS]
# Prints one JSON line: stalls (how late a 10 ms tick ran), snapshots and
# chart redraws per second, resident memory at idle, training and peak.
set -e
build=${1:-build}
seconds=${2:-60}
# the window reads its settings from the compiled schema in the build folder
ninja -C "$build" bench/app/dn-app-latency data/gschemas.compiled >/dev/null
run="$build/bench/app/dn-app-latency --seconds $seconds"
if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
    # Xvfb has no GPU: GL would mean llvmpipe on the main thread; measure the
    # cairo renderer, the software path a machine without a GPU takes
    export GSK_RENDERER=${GSK_RENDERER:-cairo}
    exec xvfb-run -a -s "-screen 0 1400x900x24" dbus-run-session -- $run 2>/dev/null
fi
exec $run
