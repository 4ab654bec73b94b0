#!/bin/sh
# The main job: set up, build, and train the default experiment (the PyTorch
# MNIST example network) on the bundled real MNIST digits.
# With a display (and no arguments) it opens the desktop app on that experiment instead.
# Extra arguments go to `dendrite train`, e.g. --data /usr/share/datasets/fashion-mnist
set -e
cd "$(dirname "$0")/.."
sh tools/install-deps.sh
[ -d build ] || meson setup build --buildtype=release >/dev/null
ninja -C build >/dev/null
# With a display and no arguments: the desktop app, on the same experiment.
if [ $# -eq 0 ] && [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ -x build/src/app/dendrite-studio ]; then
    exec build/src/app/dendrite-studio data/examples/mnist-cnn.json
fi
exec build/src/cli/dendrite train data/examples/mnist-cnn.json "$@"
