#!/usr/bin/env python3
"""Record the decisions of the reference tracker (perforatedai 3.2.9) as fixtures.

A checking tool, never a dependency: install perforatedai==3.2.9 (it pulls
torch) into a throw-away virtual environment and run

    python tools/compare-perforatedai.py [--out tests/fixtures/perforatedai] [NAME...]

Each scenario drives the reference's add_validation_score on a tiny model
(one SGD step per epoch, the optimizer and scheduler rebuilt with
setup_optimizer after every restructure, every confirmation pre-answered) with
a scripted score sequence, and writes NAME.json:

    {"name", "about", "settings": {perforatedai name: value}, "maximizing_score",
     "lr", "scheduler": {"type": "step"|"none", ...}, "scores": [...],
     "epochs": [{"decision": "continue"|"switch"|"retry"|"lr"|"done",
                 "lr": rate for the next epoch, "dendrites": sets after}]}

The replay test (tests/test-tracker-parity.c) feeds the same settings and
scores to our tracker and compares every epoch. Each scenario runs in its own
process, in a scratch folder, because the reference keeps global state and
writes checkpoints into the working directory.
"""

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile

STEP = {"type": "step", "step_size": 3, "gamma": 0.5}
NONE = {"type": "none"}


def cycles(spec):
    """spec: list of (rise_epochs, start, step, flat_epochs)."""
    out = []
    for rise, start, step, flat in spec:
        out += [round(start + step * i, 6) for i in range(rise)]
        out += [round(start + step * (rise - 1), 6)] * flat
    return out


# Each scenario: settings use the reference's names (GPA.pc.set_<name>).
SCENARIOS = [
    {
        "name": "plateau-switch",
        "about": "patience runs out, each cycle improves: dendrites are added",
        "settings": {"n_epochs_to_switch": 3, "find_best_lr": False},
        "scheduler": NONE,
        "scores": cycles([(4, 50, 2, 5), (4, 60, 2, 5), (4, 70, 2, 5)]),
    },
    {
        "name": "patience-long",
        "about": "a longer patience and a rise that resumes before it runs out",
        "settings": {"n_epochs_to_switch": 5, "find_best_lr": False},
        "scheduler": NONE,
        "scores": [50, 51, 52, 52, 52, 52, 53, 54, 54, 54, 54, 54, 54, 54, 60, 61, 61, 61, 61, 61,
                   61, 61, 61],
    },
    {
        "name": "max-tries-default",
        "about": "a set that never beats the best: 2 tries means one retry, then done",
        "settings": {"n_epochs_to_switch": 3, "find_best_lr": False},
        "scheduler": NONE,
        "scores": cycles([(4, 50, 2, 5)]) + [40] * 30,
    },
    {
        "name": "max-tries-one",
        "about": "max_dendrite_tries 1: no retry at all",
        "settings": {"n_epochs_to_switch": 3, "find_best_lr": False, "max_dendrite_tries": 1},
        "scheduler": NONE,
        "scores": cycles([(4, 50, 2, 5)]) + [40] * 20,
    },
    {
        "name": "max-tries-three",
        "about": "max_dendrite_tries 3: two retries, then done",
        "settings": {"n_epochs_to_switch": 3, "find_best_lr": False, "max_dendrite_tries": 3},
        "scheduler": NONE,
        "scores": cycles([(4, 50, 2, 5)]) + [40] * 8 + [41] * 4 + [60, 62, 64, 64, 64, 64, 64]
        + [30] * 30,
    },
    {
        "name": "threshold-relative",
        "about": "improvements smaller than improvement_threshold are not a new best",
        "settings": {"n_epochs_to_switch": 3, "find_best_lr": False},
        "scheduler": NONE,
        "scores": [50, 50.01, 50.02, 50.03, 50.2, 50.21, 50.22, 50.23, 50.24, 50.5, 50.51, 50.52,
                   50.53, 50.54, 50.55, 50.56, 50.57, 50.58, 50.59, 50.6, 50.61],
    },
    {
        "name": "threshold-list",
        "about": "improvement_threshold as a per-dendrite-count list",
        "settings": {"n_epochs_to_switch": 2, "find_best_lr": False,
                     "improvement_threshold": [0.01, 0.001, 0.0]},
        "scheduler": NONE,
        "scores": [50, 50.4, 50.8, 51, 51.2, 51.4, 51.6, 52, 52.1, 52.2, 52.3, 52.35, 52.4, 52.45,
                   52.5, 52.51, 52.52, 52.53, 52.54, 52.55, 52.56, 52.57, 52.58, 52.59],
    },
    {
        "name": "threshold-raw",
        "about": "improvement_threshold_raw: an absolute margin",
        "settings": {"n_epochs_to_switch": 3, "find_best_lr": False,
                     "improvement_threshold": 0.0, "improvement_threshold_raw": 0.5},
        "scheduler": NONE,
        "scores": [50, 50.3, 50.6, 50.9, 51.2, 51.5, 52.1, 52.2, 52.3, 52.4, 52.5, 52.6, 52.7,
                   53.5, 53.6, 53.7, 53.8, 53.9, 54.0],
    },
    {
        "name": "minimizing",
        "about": "a loss: lower is better",
        "maximizing_score": False,
        "settings": {"n_epochs_to_switch": 3, "find_best_lr": False},
        "scheduler": NONE,
        "scores": [1.0, 0.8, 0.6, 0.5, 0.5, 0.5, 0.5, 0.5, 0.45, 0.4, 0.35, 0.35, 0.35, 0.35, 0.35,
                   0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6],
    },
    {
        "name": "lookback",
        "about": "history_lookback 3: the running score is an average",
        "settings": {"n_epochs_to_switch": 3, "find_best_lr": False, "history_lookback": 3},
        "scheduler": NONE,
        "scores": [50, 60, 55, 62, 58, 58, 58, 58, 58, 58, 70, 72, 71] + [71] * 24,
    },
    {
        "name": "initial-history",
        "about": "initial_history_after_switches 2: grace epochs after each switch",
        "settings": {"n_epochs_to_switch": 3, "find_best_lr": False,
                     "initial_history_after_switches": 2},
        "scheduler": NONE,
        "scores": cycles([(4, 50, 2, 6), (4, 60, 2, 6), (4, 70, 2, 6)]),
    },
    {
        "name": "reset-best-off",
        "about": "reset_best_score_on_switch false: the running score carries over",
        "settings": {"n_epochs_to_switch": 3, "find_best_lr": False,
                     "reset_best_score_on_switch": False, "history_lookback": 2},
        "scheduler": NONE,
        "scores": cycles([(4, 50, 2, 12), (4, 55, 2, 12), (4, 60, 2, 12)]),
    },
    {
        "name": "reset-best-on",
        "about": "reset_best_score_on_switch true (3.2.9 default), running average over 2",
        "settings": {"n_epochs_to_switch": 3, "find_best_lr": False, "history_lookback": 2},
        "scheduler": NONE,
        "scores": cycles([(4, 50, 2, 12), (4, 55, 2, 12), (4, 60, 2, 12)]),
    },
    {
        "name": "fixed-switch",
        "about": "fixed switching every 5 epochs",
        "settings": {"switch_mode": "fixed", "fixed_switch_num": 5, "find_best_lr": False},
        "scheduler": NONE,
        "scores": [50 + i for i in range(24)],
    },
    {
        "name": "fixed-switch-first",
        "about": "fixed switching every 4 epochs, the first not before epoch 10",
        "settings": {"switch_mode": "fixed", "fixed_switch_num": 4, "first_fixed_switch_num": 10,
                     "find_best_lr": False},
        "scheduler": NONE,
        "scores": [50 + i for i in range(24)],
    },
    {
        "name": "every-epoch",
        "about": "switch_mode every epoch",
        "settings": {"switch_mode": "every_epoch", "find_best_lr": False, "max_dendrites": 4},
        "scheduler": NONE,
        "scores": [50 + i for i in range(8)],
    },
    {
        "name": "max-dendrites",
        "about": "max_dendrites 2: a kept cycle with two sets completes",
        "settings": {"n_epochs_to_switch": 3, "find_best_lr": False, "max_dendrites": 2},
        "scheduler": NONE,
        "scores": cycles([(4, 50, 2, 5), (4, 60, 2, 5), (4, 70, 2, 5), (4, 80, 2, 5)]),
    },
    {
        "name": "no-dendrites",
        "about": "doing_pai false: early stopping",
        "doing_pai": False,
        "settings": {"n_epochs_to_switch": 3},
        "scheduler": NONE,
        "scores": cycles([(4, 50, 2, 8)]),
    },
    {
        "name": "step-no-sweep",
        "about": "a step scheduler without the sweep: rates replayed after each switch",
        "settings": {"n_epochs_to_switch": 4, "find_best_lr": False},
        "scheduler": STEP,
        "scores": cycles([(5, 50, 2, 6), (5, 62, 2, 6), (5, 75, 2, 6)]),
    },
    {
        "name": "sweep-basic",
        "about": "learning-rate sweep with the 3.2.9 defaults",
        "settings": {"n_epochs_to_switch": 4},
        "scheduler": STEP,
        "scores": cycles([(5, 50, 2, 6)]) + [60, 62, 64, 66, 66, 66, 66, 66, 66, 66, 66, 66,
                                              63, 64, 65, 65, 65, 65, 65, 65, 65, 65, 65, 65,
                                              70, 71, 72, 72, 72, 72, 72, 72, 72, 72, 72, 72]
        + [30] * 30,
    },
    {
        "name": "sweep-lower-better",
        "about": "learning-rate sweep where starting lower wins",
        "settings": {"n_epochs_to_switch": 4},
        "scheduler": STEP,
        "scores": cycles([(7, 50, 2, 6)]) + [60, 61, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62]
        + [64, 66, 68, 70, 70, 70, 70, 70, 70, 70, 70, 70, 70, 70]
        + [72, 73, 74, 74, 74, 74, 74, 74, 74, 74, 74, 74, 74, 74, 74, 74] + [30] * 40,
    },
    {
        "name": "sweep-dont-give-up-off",
        "about": "dont_give_up_unless_learning_rate_lowered false: the sweep never blocks",
        "settings": {"n_epochs_to_switch": 3, "dont_give_up_unless_learning_rate_lowered": False},
        "scheduler": STEP,
        "scores": cycles([(5, 50, 2, 4), (4, 62, 2, 4), (4, 72, 2, 4)]) + [30] * 30,
    },
]


def run_scenario(sc):
    """Runs one scenario in this process; returns the fixture dict."""
    import torch
    import torch.nn as nn
    from perforatedai import globals_perforatedai as GPA
    from perforatedai import tracker_perforatedai as TPA
    from perforatedai import utils_perforatedai as UPA

    torch.manual_seed(0)
    GPA.pc.set_unwrapped_modules_confirmed(True)
    GPA.pc.set_weight_decay_accepted(True)
    GPA.pc.set_configuration_confirmed(True)
    GPA.pc.set_testing_dendrite_capacity(False)
    GPA.pc.set_silent(True)
    GPA.pc.set_verbose(False)
    modes = {"history": GPA.pc.DOING_HISTORY, "fixed": GPA.pc.DOING_FIXED_SWITCH,
             "every_epoch": GPA.pc.DOING_SWITCH_EVERY_TIME, "never": GPA.pc.DOING_NO_SWITCH}
    for key, value in sc["settings"].items():
        if key == "switch_mode":
            value = modes[value]
        getattr(GPA.pc, "set_" + key)(value)

    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    model = UPA.perforate_model(model, doing_pai=sc.get("doing_pai", True), save_name="ref",
                                maximizing_score=sc.get("maximizing_score", True))
    tracker = GPA.pai_tracker
    # Which branch restructured: a rejected set goes through
    # process_no_improvement (a retry, even when the best_model it reloads
    # already holds the rejected cycle's earlier trial and so gains a set).
    rejected = []
    no_improvement = TPA.process_no_improvement

    def spy(net):
        rejected.append(True)
        return no_improvement(net)

    TPA.process_no_improvement = spy
    # Charts are not decisions; drawing them only costs time.
    tracker.save_graphs = lambda *args, **kwargs: None
    tracker.set_optimizer(torch.optim.SGD)
    sched = sc["scheduler"]
    sched_args = None
    if sched["type"] == "step":
        tracker.set_scheduler(torch.optim.lr_scheduler.StepLR)
        sched_args = {"step_size": sched["step_size"], "gamma": sched["gamma"]}
    else:
        tracker.set_scheduler(None)
    lr = sc.get("lr", 0.1)

    def setup():
        opt, _ = tracker.setup_optimizer(model, {"lr": lr}, sched_args)
        return opt

    def rate(opt):
        return opt.param_groups[0]["lr"]

    opt = setup()
    x = torch.randn(8, 4)
    epochs = []
    for score in sc["scores"]:
        opt.zero_grad()
        model(x).pow(2).mean().backward()
        opt.step()
        mv = tracker.member_vars
        dendrites = mv["num_dendrites_added"]
        rejected.clear()
        model, restructured, complete = tracker.add_validation_score(score, model)
        mv = tracker.member_vars
        if complete:
            decision = "done"
        elif restructured:
            if rejected:
                decision = "retry"
            elif mv["num_dendrites_added"] > dendrites or not sc.get("doing_pai", True):
                decision = "switch"
            else:
                decision = "lr"
            opt = setup()
        else:
            decision = "continue"
        epochs.append({"decision": decision, "lr": rate(opt),
                       "dendrites": mv["num_dendrites_added"]})
        if complete:
            break
    return {"name": sc["name"], "about": sc["about"], "settings": sc["settings"],
            "maximizing_score": sc.get("maximizing_score", True),
            "doing_pai": sc.get("doing_pai", True), "lr": lr, "scheduler": sched,
            "scores": sc["scores"][: len(epochs)], "epochs": epochs}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "tests",
                                                   "fixtures", "perforatedai"))
    ap.add_argument("--one", help=argparse.SUPPRESS)
    ap.add_argument("names", nargs="*")
    args = ap.parse_args()
    by_name = {sc["name"]: sc for sc in SCENARIOS}
    if args.one:
        print("\n" + json.dumps(run_scenario(by_name[args.one])))
        return
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    for name in args.names or list(by_name):
        with tempfile.TemporaryDirectory() as scratch:
            res = subprocess.run([sys.executable, os.path.abspath(__file__), "--one", name],
                                 cwd=scratch, capture_output=True, text=True)
        if res.returncode != 0:
            sys.exit(f"{name}: the reference failed:\n{res.stderr[-4000:]}")
        fixture = json.loads(res.stdout.strip().splitlines()[-1])
        for e in fixture["epochs"]:
            assert math.isfinite(e["lr"])
        with open(os.path.join(out, name + ".json"), "w") as f:
            json.dump(fixture, f, indent=1)
            f.write("\n")
        counts = {}
        for e in fixture["epochs"]:
            counts[e["decision"]] = counts.get(e["decision"], 0) + 1
        print(f"{name}: {len(fixture['epochs'])} epochs {counts}")


if __name__ == "__main__":
    main()
