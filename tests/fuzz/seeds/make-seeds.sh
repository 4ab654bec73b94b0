#!/bin/sh
# Seeds for the model and resume-state fuzz targets, from real short runs:
#   sh tests/fuzz/seeds/make-seeds.sh BUILD-DIR
# trains the experiments in this folder (and a two-task continual run) on the
# bundled MNIST subset, then writes each model file's JSON header to
# tests/fuzz/corpus/model/ and each checkpoint's "dendrite_tracker" and
# "dendrite_run" metadata to tests/fuzz/corpus/resume-state/.
set -e
cd "$(dirname "$0")/../../.."
build=${1:?usage: make-seeds.sh BUILD-DIR}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
data=data/datasets/mnist-10k
for e in tests/fuzz/seeds/*.json; do
    "$build"/src/cli/dendrite train "$e" --data=$data --out="$out" --threads=1 >/dev/null
done
"$build"/src/cli/dendrite train data/examples/continual/prototype_2.json --epochs=1 \
    --data=$data --out="$out" --threads=1 >/dev/null
python3 - "$out" <<'PY'
import json, os, struct, sys
root = sys.argv[1]
model, state = "tests/fuzz/corpus/model", "tests/fuzz/corpus/resume-state"
os.makedirs(model, exist_ok=True)
os.makedirs(state, exist_ok=True)
for run in sorted(os.listdir(root)):
    for f in sorted(os.listdir(os.path.join(root, run))):
        if not f.endswith(".safetensors"):
            continue
        with open(os.path.join(root, run, f), "rb") as fh:
            n = struct.unpack("<Q", fh.read(8))[0]
            header = fh.read(n)
        name = "good-%s-%s" % (run, f[: -len(".safetensors")])
        with open(os.path.join(model, name + ".json"), "wb") as out:
            out.write(header)
        meta = json.loads(header).get("__metadata__", {})
        for key, suffix in (("dendrite_tracker", "tracker"), ("dendrite_run", "run")):
            if key in meta and f == "latest.safetensors":
                with open(os.path.join(state, "good-%s-%s.json" % (run, suffix)), "w") as out:
                    out.write(meta[key])
PY
