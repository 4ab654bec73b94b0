#!/usr/bin/env python3
"""Runs the experiments in data/examples/results/ and prints the results table
of docs/results.md (markdown). Each row is one `dendrite train` run:

    python3 tools/results.py [--data DIR] [--label NAME] [--only cnn-narrow] [--threads 2]
    python3 tools/results.py --logs DIR [--label NAME]     # the table from saved logs

Each run's --json log is kept as OUT/LABEL/NET-VARIANT.jsonl; --logs prints the
table from such logs without training (wall time: the run's own "seconds").

The remaining-error reduction of a dendritic run is (e_base - e_dend) / e_base,
with e the test error (100 - test accuracy at the best validation epoch) of
the baseline (early stopping, no dendrites) and of the dendritic run."""
import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def parse(text):
    done, epochs = None, 0
    for line in text.splitlines():
        ev = json.loads(line)
        if ev["event"] == "epoch":
            epochs += 1
        if ev["event"] == "done":
            done = ev
    return done, epochs


def run(binary, path, data, out, threads, log):
    cmd = [binary, "train", path, "--json", "--out", out, "--threads", str(threads)]
    if data:
        cmd += ["--data", data]
    t = time.time()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.time() - t
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{proc.stderr}")
    os.makedirs(os.path.dirname(log), exist_ok=True)
    with open(log, "w") as f:
        f.write(proc.stdout)
    done, epochs = parse(proc.stdout)
    return done, epochs, wall


def from_log(log):
    with open(log) as f:
        done, epochs = parse(f.read())
    if done is None:
        sys.exit(f"{log}: no \"done\" event (the run did not finish)")
    return done, epochs, done["seconds"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=None)
    ap.add_argument("--label", default="MNIST sample")
    ap.add_argument("--only", action="append", default=[])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--binary", default=os.path.join(ROOT, "build", "src", "cli", "dendrite"))
    ap.add_argument("--out", default=os.path.join(ROOT, "runs", "results"))
    ap.add_argument("--logs", default=None, help="tabulate the NET-VARIANT.jsonl logs in this folder")
    args = ap.parse_args()
    nets = args.only or ["mlp-narrow", "cnn-narrow", "cnn"]
    print(f"| data | network | dendrite sets | parameters | best validation % | "
          f"test % at best validation | remaining-error reduction | epochs | wall time |")
    print("|---|---|---|---|---|---|---|---|---|")
    for net in nets:
        rows = {}
        for variant in ("baseline", "dendrites"):
            path = os.path.join(ROOT, "data", "examples", "results", f"{net}-{variant}.json")
            out = os.path.join(args.out, args.label.replace(" ", "-").lower())
            if args.logs:
                rows[variant] = from_log(os.path.join(args.logs, f"{net}-{variant}.jsonl"))
            else:
                log = os.path.join(out, f"{net}-{variant}.jsonl")
                rows[variant] = run(args.binary, path, args.data, out, args.threads, log)
        base_err = 100.0 - rows["baseline"][0]["test_at_best_val"]
        for variant in ("baseline", "dendrites"):
            done, epochs, wall = rows[variant]
            err = 100.0 - done["test_at_best_val"]
            red = "—" if variant == "baseline" else f"{100.0 * (base_err - err) / base_err:+.1f} %"
            print(f"| {args.label} | {net} | {done.get('dendrites', 0)} | {done['params']:,} | "
                  f"{done['best_val']:.2f} | {done['test_at_best_val']:.2f} | {red} | {epochs} | "
                  f"{wall / 60:.1f} min |", flush=True)


if __name__ == "__main__":
    main()
