#!/usr/bin/env python3
"""Prints the markdown table of continual-learning results from the `--json` logs of
`dendrite train` runs (one file per run, named CONFIG_DATASET.jsonl), next to the
published numbers. Usage: tools/continual-table.py LOG_DIR [DATASET]"""
import glob
import json
import os
import sys

PUBLISHED = {  # full MNIST, mean of 8 seeds (docs/continual.md)
    "prototype": {2: 97.47, 5: 96.36, 10: 94.55, 25: 92.09, 50: 87.05, 100: 81.42},
    "prototype_segments_10": {2: 97.53, 5: 96.47, 10: 94.55, 25: 91.31, 50: 86.28, 100: 78.47},
    "si_prototype": {2: 97.65, 5: 97.47, 10: 97.23, 25: 96.46, 50: 94.45, 100: 91.59},
    "active_dendrites_only": {2: 96.76, 5: 89.11, 10: 82.85, 25: 76.15, 50: 68.33, 100: 61.54},
    "sparse_representations_only": {2: 96.57, 5: 93.89, 10: 91.33, 25: 84.59, 50: 75.56, 100: 65.61},
    "three_layer_mlp": {10: 82.03, 100: 48.31},
    "ten_layer_mlp": {10: 71.84, 100: 28.61},
}
LABELS = {
    "prototype": "Active Dendrites (S = T)",
    "prototype_segments_10": "Active Dendrites (S = 10)",
    "si_prototype": "Active Dendrites + SI",
    "active_dendrites_only": "dendrites without k-WTA (ReLU)",
    "sparse_representations_only": "k-WTA without dendrites",
    "three_layer_mlp": "3-layer MLP",
    "ten_layer_mlp": "10-layer MLP",
}
TS = [2, 5, 10, 25, 50, 100]


def family_and_t(name):
    if name.endswith("_segments_10"):
        return "prototype_segments_10", int(name[len("prototype_"):-len("_segments_10")])
    fam, t = name.rsplit("_", 1)
    return fam, int(t)


def main():
    d = sys.argv[1]
    dataset = sys.argv[2] if len(sys.argv) > 2 else "mnist"
    res = {}
    for path in glob.glob(os.path.join(d, f"*_{dataset}.jsonl")):
        name = os.path.basename(path)[: -len(f"_{dataset}.jsonl")]
        done = None
        for line in open(path):
            try:
                e = json.loads(line)
            except ValueError:
                continue
            if e.get("event") == "done" and not e.get("cancelled"):
                done = e
        if done is not None and "average_accuracy" in done:  # a continual run
            res[family_and_t(name)] = (done["average_accuracy"], done["seconds"])
    print("| Method | " + " | ".join(f"T = {t}" for t in TS) + " |")
    print("|---|" + "---|" * len(TS))
    for fam in LABELS:
        cells = []
        for t in TS:
            ours = res.get((fam, t))
            pub = PUBLISHED[fam].get(t) if dataset == "mnist" else None
            c = f"**{ours[0]:.2f}** ({ours[1] / 60:.1f} min)" if ours else "not run"
            if pub is not None:
                c += f" / {pub:.2f}"
            cells.append(c)
        print(f"| {LABELS[fam]} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
