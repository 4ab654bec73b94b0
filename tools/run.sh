#!/bin/sh
# The main job: set up, build, and train the default experiment (the PyTorch
# MNIST example network) on the bundled real MNIST digits.
# Extra arguments go to `dendrite train`, e.g. --data /usr/share/datasets/fashion-mnist
set -e
cd "$(dirname "$0")/.."
sh tools/install-deps.sh
[ -d build ] || meson setup build --buildtype=release >/dev/null
ninja -C build >/dev/null
exec build/src/cli/dendrite train data/examples/mnist-cnn.json "$@"
