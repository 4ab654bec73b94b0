#!/bin/sh
# The README's path from PyTorch to a dendritic run, run as written: its Python block,
# then its shell block, in a new folder beside a link to the repository's data/.
#   readme-onnx.sh SOURCE_ROOT DENDRITE_DIR
# Python is $DN_PYTHON (default python3), first on the PATH; without torch, onnx and
# onnxruntime the test is skipped (exit 77), saying so.
set -eu
src=$1
cli_dir=$2
python=${DN_PYTHON:-python3}
if ! "$python" -c 'import torch, onnx, onnxruntime' 2>/dev/null; then
    echo "1..0 # SKIP $python lacks torch, onnx or onnxruntime (set DN_PYTHON to one that has them)"
    exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python_dir=$(dirname "$(command -v "$python")")
ln -s "$src/data" "$work/data"
# the fenced blocks of the README's section, by language
block () {
    awk -v lang="$1" '
        /^## From PyTorch to a dendritic run/ { on = 1; next }
        on && /^## / { on = 0 }
        on && /^```/ { if (inside) { inside = 0; next } if ($0 == "```" lang) { inside = 1; next } }
        on && inside { print }
    ' "$src/README.md"
}
block python >"$work/step1.py"
block sh >"$work/step2.sh"
[ -s "$work/step1.py" ] && [ -s "$work/step2.sh" ] || {
    echo "not ok 1 - the README's ONNX section has no python and sh blocks"
    exit 1
}
echo "1..2"
cd "$work"
if "$python" step1.py >log1 2>&1 && [ -f cnn.onnx ]; then
    echo "ok 1 - the README's torch.onnx.export"
else
    sed 's/^/# /' log1
    echo "not ok 1 - the README's torch.onnx.export"
    exit 1
fi
if PATH="$cli_dir:$python_dir:$PATH" sh -e step2.sh >log2 2>&1 && [ -f cnn-dendrites.onnx ] &&
    grep -q "1 dendrite set" log2; then
    sed 's/^/# /' log2
    echo "ok 2 - import, eval, train with dendrites, export, onnxruntime"
else
    sed 's/^/# /' log2
    echo "not ok 2 - import, eval, train with dendrites, export, onnxruntime"
    exit 1
fi
