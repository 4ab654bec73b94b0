#!/usr/bin/env python3
"""Runs the experiments in data/examples/results/ over several seeds and prints the
seed table of docs/results.md: baseline (no dendrites), gradient-descent dendrites
and correlation-trained (Perforated Backpropagation) dendrites, per network.

    python3 tools/results-seeds.py [--data DIR] [--label NAME] [--only mlp-narrow]
                                   [--seeds 1-5] [--jobs 2] [--threads 1] [--csv FILE]
    python3 tools/results-seeds.py --logs-only [--label NAME] [--csv FILE]   # table from logs

Each run is `dendrite train NET-VARIANT.json --seed S --threads T --json`; its log is
kept as OUT/LABEL/NET-VARIANT-sS.jsonl, and a run whose log already holds a "done"
event is not run again (so an interrupted sweep continues where it stopped). --jobs
runs that many at a time. --csv writes one row per run (the raw results), keeping the
rows of other --label values already in the file.

Per network and variant the table gives the mean ± sample standard deviation over the
seeds of the test accuracy at the best validation epoch. The remaining-error reduction
of a dendritic variant is, per seed s, r_s = (e_base,s - e_var,s) / e_base,s with
e = 100 - test accuracy at best validation (baseline and variant of the same seed,
so the seed's data split and initial weights are shared); the table gives the mean of
r_s and its 95 % confidence interval mean ± t(0.975, n - 1) · sd / sqrt(n)."""
import argparse
import concurrent.futures
import csv
import json
import math
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VARIANTS = ("baseline", "dendrites", "pb")
NAMES = {"mlp-narrow": "784-32-10 MLP", "cnn-narrow": "CNN 8/16 channels",
         "cnn": "MNIST CNN (32/64)"}
VARIANT_NAMES = {"baseline": "baseline (no dendrites)", "dendrites": "gradient-descent dendrites",
                 "pb": "correlation-trained dendrites (PB)"}
# t(0.975, df) for df = 1..30: two-sided 95 % quantiles of Student's t
T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
        2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
        2.060, 2.056, 2.052, 2.048, 2.045, 2.042]


def parse_log(text):
    """The "done" event (or None), the number of epochs and of dendrite-phase epochs
    of a --json log."""
    done, epochs, phase = None, 0, 0
    for line in text.splitlines():
        if not line.strip():
            continue
        ev = json.loads(line)
        if ev["event"] == "epoch":
            epochs += 1
            phase += ev.get("mode") == "dendrite"
        if ev["event"] == "done":
            done = ev
    return done, (epochs, phase)


def seeds_arg(text):
    seeds = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        seeds += range(int(lo), int(hi or lo) + 1)
    return seeds


def run_one(args, net, variant, seed, log):
    if os.path.exists(log):
        with open(log) as f:
            done, epochs = parse_log(f.read())
        if done is not None:
            return done, epochs
    path = os.path.join(ROOT, "data", "examples", "results", f"{net}-{variant}.json")
    out = os.path.join(os.path.dirname(log), f"{net}-{variant}-s{seed}")
    cmd = [args.binary, "train", path, "--json", "--out", out, "--overwrite", "--seed", str(seed),
           "--threads", str(args.threads)]
    if args.data:
        cmd += ["--data", args.data]
    t = time.time()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr}")
    with open(log, "w") as f:
        f.write(proc.stdout)
    done, epochs = parse_log(proc.stdout)
    if done is None:
        raise RuntimeError(f"{' '.join(cmd)}: no \"done\" event")
    print(f"{net}-{variant} seed {seed}: test {done['test_at_best_val']:.2f} % "
          f"({epochs[0]} epochs, {(time.time() - t) / 60:.1f} min)", file=sys.stderr, flush=True)
    return done, epochs


def mean_sd(xs):
    m = statistics.fmean(xs)
    return m, statistics.stdev(xs) if len(xs) > 1 else float("nan")


def ci95(xs):
    m, sd = mean_sd(xs)
    if len(xs) < 2:
        return m, float("nan")
    return m, T975[min(len(xs) - 1, len(T975)) - 1] * sd / math.sqrt(len(xs))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=None)
    ap.add_argument("--label", default="MNIST sample")
    ap.add_argument("--only", action="append", default=[])
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--seeds", type=seeds_arg, default=seeds_arg("1-5"))
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--binary", default=os.path.join(ROOT, "build", "src", "cli", "dendrite"))
    ap.add_argument("--out", default=os.path.join(ROOT, "runs", "results-seeds"))
    ap.add_argument("--csv", default=None, help="write one row per finished run to this file")
    ap.add_argument("--logs-only", action="store_true", help="tabulate finished logs, run nothing")
    args = ap.parse_args()
    nets = args.only or ["mlp-narrow", "cnn-narrow", "cnn"]
    variants = args.variants.split(",")
    logdir = os.path.join(args.out, args.label.replace(" ", "-").lower())
    os.makedirs(logdir, exist_ok=True)
    jobs = [(net, v, s) for net in nets for s in args.seeds for v in variants]
    results = {}
    if args.logs_only:
        for net, v, s in jobs:
            log = os.path.join(logdir, f"{net}-{v}-s{s}.jsonl")
            if os.path.exists(log):
                with open(log) as f:
                    done, epochs = parse_log(f.read())
                if done is not None:
                    results[net, v, s] = (done, epochs)
    else:
        failed = False
        with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
            futs = {pool.submit(run_one, args, net, v, s,
                                os.path.join(logdir, f"{net}-{v}-s{s}.jsonl")): (net, v, s)
                    for net, v, s in jobs}
            for fut in concurrent.futures.as_completed(futs):
                try:
                    results[futs[fut]] = fut.result()
                except RuntimeError as e:
                    print(e, file=sys.stderr)
                    failed = True
        if failed:
            sys.exit(1)
    if args.csv:
        # the rows of other data sets already in the file stay
        kept = []
        if os.path.exists(args.csv):
            with open(args.csv, newline="") as f:
                kept = [row for row in csv.reader(f)][1:]
            kept = [row for row in kept if row and row[0] != args.label]
        with open(args.csv, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["data", "network", "variant", "seed", "dendrite_sets", "parameters",
                        "best_validation", "test_at_best_validation", "epochs",
                        "dendrite_phase_epochs", "seconds"])
            w.writerows(kept)
            for net, v, s in jobs:
                if (net, v, s) in results:
                    done, epochs = results[net, v, s]
                    w.writerow([args.label, net, v, s, done.get("dendrites", 0), done["params"],
                                f"{done['best_val']:.2f}", f"{done['test_at_best_val']:.2f}",
                                epochs[0], epochs[1], f"{done['seconds']:.1f}"])
    print("| data | network | variant | seeds | dendrite sets (per seed) | parameters (mean) | "
          "test % at best validation (mean ± sd) | remaining-error reduction (mean, 95 % CI) | "
          "epochs (mean; in dendrite phases) | wall time (mean) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for net in nets:
        for v in variants:
            runs = [(s, results[net, v, s]) for s in args.seeds if (net, v, s) in results]
            if not runs:
                continue
            acc = [d["test_at_best_val"] for _, (d, _) in runs]
            m, sd = mean_sd(acc)
            red = "—"
            if v != "baseline":
                r = [100.0 * ((100.0 - results[net, "baseline", s][0]["test_at_best_val"]) -
                              (100.0 - d["test_at_best_val"])) /
                     (100.0 - results[net, "baseline", s][0]["test_at_best_val"])
                     for s, (d, _) in runs if (net, "baseline", s) in results]
                if r:
                    rm, half = ci95(r)
                    red = (f"{rm:+.1f} % [{rm - half:+.1f}, {rm + half:+.1f}]" if len(r) > 1
                           else f"{rm:+.1f} % (one seed)")
            sets = "/".join(str(d.get("dendrites", 0)) for _, (d, _) in runs)
            params = statistics.fmean(d["params"] for _, (d, _) in runs)
            epochs = statistics.fmean(e[0] for _, (_, e) in runs)
            phase = statistics.fmean(e[1] for _, (_, e) in runs)
            wall = statistics.fmean(d["seconds"] for _, (d, _) in runs)
            print(f"| {args.label} | {NAMES.get(net, net)} | {VARIANT_NAMES[v]} | {len(runs)} | "
                  f"{sets} | {params:,.0f} | {m:.2f} ± {sd:.2f} | {red} | "
                  f"{epochs:.1f}{f'; {phase:.1f}' if v == 'pb' else ''} | "
                  f"{wall / 60:.2f} min |", flush=True)


if __name__ == "__main__":
    main()
