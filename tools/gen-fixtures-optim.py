#!/usr/bin/python3
"""gen-fixtures-optim.py: PyTorch reference values for tests/test-optim.c and tests/test-sched.c.

Run with Debian's Python, which has torch:

    /usr/bin/python3 tools/gen-fixtures-optim.py

It writes tests/fixtures/optim.json (parameters after each of 5 steps of every
optimizer configuration, from one fixed parameter vector and a fixed, seeded
sequence of gradients) and tests/fixtures/sched.json (the learning rate used in
each of 30 epochs for every scheduler configuration; ReduceLROnPlateau reads a
scripted metric sequence). Configurations are written in Dendrite's own JSON
schema, so the tests parse them with dn_optim_config_from_json and
dn_sched_config_from_json; to_torch_* below translates them.
"""

import json
import math
import os
import sys
import warnings

import torch

N_PARAMS = 10
N_STEPS = 5
N_EPOCHS = 30
BASE_LR = 0.1

OPTIM_CASES = [
    ("sgd_plain", {"type": "sgd", "lr": 0.1}),
    ("sgd_momentum", {"type": "sgd", "lr": 0.1, "momentum": 0.9}),
    ("sgd_nesterov", {"type": "sgd", "lr": 0.05, "momentum": 0.8, "nesterov": True}),
    ("sgd_dampening", {"type": "sgd", "lr": 0.1, "momentum": 0.9, "dampening": 0.3}),
    ("sgd_weight_decay", {"type": "sgd", "lr": 0.1, "momentum": 0.5, "weight_decay": 0.1}),
    ("sgd_plain_weight_decay", {"type": "sgd", "lr": 0.2, "weight_decay": 0.05}),
    ("adam", {"type": "adam", "lr": 0.01}),
    ("adam_betas", {"type": "adam", "lr": 0.02, "betas": [0.8, 0.99], "eps": 1e-6}),
    ("adam_amsgrad_wd", {"type": "adam", "lr": 0.01, "amsgrad": True, "weight_decay": 0.1}),
    ("adam_amsgrad_fast", {"type": "adam", "lr": 0.01, "amsgrad": True, "betas": [0.5, 0.6]}),
    ("adamw", {"type": "adamw", "lr": 0.01}),
    ("adamw_amsgrad", {"type": "adamw", "lr": 0.01, "weight_decay": 0.2, "amsgrad": True}),
    ("adadelta", {"type": "adadelta"}),
    ("adadelta_wd", {"type": "adadelta", "lr": 0.5, "rho": 0.8, "weight_decay": 0.1}),
    ("rmsprop", {"type": "rmsprop"}),
    ("rmsprop_centered", {"type": "rmsprop", "lr": 0.005, "centered": True}),
    ("rmsprop_momentum", {"type": "rmsprop", "lr": 0.005, "momentum": 0.9, "alpha": 0.9}),
    ("rmsprop_all", {"type": "rmsprop", "lr": 0.005, "momentum": 0.5, "centered": True,
                     "weight_decay": 0.1, "eps": 1e-6}),
]

# Plateau metrics: improvement, a plateau, small (below-threshold) improvements,
# then noise; "max" cases read the negated sequence.
PLATEAU_METRICS = [
    1.0, 0.8, 0.7, 0.65, 0.65, 0.66, 0.64999, 0.65, 0.5, 0.5,
    0.5, 0.5, 0.49, 0.52, 0.48, 0.48, 0.48, 0.479, 0.478, 0.3,
    0.31, 0.32, 0.3, 0.3, 0.3, 0.29, 0.3, 0.3, 0.3, 0.3,
]

SCHED_CASES = [
    ("none", {"type": "none"}, None),
    ("step", {"type": "step", "step_size": 7}, None),
    ("step_gamma", {"type": "step", "step_size": 3, "gamma": 0.7}, None),
    ("multistep", {"type": "multistep", "milestones": [5, 12, 20]}, None),
    ("multistep_repeat", {"type": "multistep", "milestones": [3, 8, 8, 25], "gamma": 0.5},
     None),
    ("exponential", {"type": "exponential", "gamma": 0.9}, None),
    ("cosine", {"type": "cosine", "T_max": 10}, None),
    ("cosine_eta_min", {"type": "cosine", "T_max": 7, "eta_min": 0.01}, None),
    ("cosine_long", {"type": "cosine", "T_max": 40, "eta_min": 0.001}, None),
    ("plateau_default", {"type": "plateau"}, PLATEAU_METRICS),
    ("plateau_default_flat", {"type": "plateau"}, [1.0] * N_EPOCHS),
    ("plateau_min_rel", {"type": "plateau", "patience": 2}, PLATEAU_METRICS),
    ("plateau_min_abs", {"type": "plateau", "patience": 1, "threshold": 0.02,
                         "threshold_mode": "abs", "factor": 0.5}, PLATEAU_METRICS),
    ("plateau_max_rel", {"type": "plateau", "mode": "max", "patience": 2, "threshold": 0.01},
     [-m for m in PLATEAU_METRICS]),
    ("plateau_max_abs", {"type": "plateau", "mode": "max", "patience": 1, "threshold": 0.05,
                         "threshold_mode": "abs"}, [-m for m in PLATEAU_METRICS]),
    ("plateau_cooldown", {"type": "plateau", "patience": 1, "cooldown": 3, "factor": 0.5},
     PLATEAU_METRICS),
    ("plateau_min_lr", {"type": "plateau", "patience": 0, "factor": 0.5, "min_lr": 0.02},
     PLATEAU_METRICS),
    ("plateau_eps", {"type": "plateau", "patience": 0, "factor": 0.5, "eps": 0.01},
     PLATEAU_METRICS),
]


def to_torch_optim(cfg, params):
    kind = cfg["type"]
    kw = {k: v for k, v in cfg.items() if k != "type"}
    if "betas" in kw:
        kw["betas"] = tuple(kw["betas"])
    if kind == "sgd":
        kw.setdefault("lr", 0.01)  # PyTorch has no default; Dendrite uses 0.01
        return torch.optim.SGD(params, foreach=False, **kw)
    cls = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW,
           "adadelta": torch.optim.Adadelta, "rmsprop": torch.optim.RMSprop}[kind]
    return cls(params, foreach=False, **kw)


def to_torch_sched(cfg, opt):
    kind = cfg["type"]
    S = torch.optim.lr_scheduler
    if kind == "none":
        return None
    if kind == "step":
        return S.StepLR(opt, step_size=cfg["step_size"], gamma=cfg.get("gamma", 0.1))
    if kind == "multistep":
        return S.MultiStepLR(opt, milestones=cfg["milestones"], gamma=cfg.get("gamma", 0.1))
    if kind == "exponential":
        return S.ExponentialLR(opt, gamma=cfg["gamma"])
    if kind == "cosine":
        return S.CosineAnnealingLR(opt, T_max=cfg["T_max"], eta_min=cfg.get("eta_min", 0))
    kw = {k: v for k, v in cfg.items() if k != "type"}
    return S.ReduceLROnPlateau(opt, **kw)


def gen_optim():
    g = torch.Generator().manual_seed(1234)
    params0 = torch.randn(N_PARAMS, generator=g)
    # Gradient sizes rise and fall, so second moments shrink at times (amsgrad's max matters).
    scales = [2.0, 0.3, 1.5, 0.1, 1.0]
    grads = [torch.randn(N_PARAMS, generator=g) * scales[i] for i in range(N_STEPS)]
    cases = []
    for name, cfg in OPTIM_CASES:
        p = torch.nn.Parameter(params0.clone())
        opt = to_torch_optim(cfg, [p])
        steps = []
        for gr in grads:
            p.grad = gr.clone()
            opt.step()
            steps.append(p.detach().tolist())
        cases.append({"name": name, "config": cfg, "steps": steps})
    return {
        "generator": "tools/gen-fixtures-optim.py",
        "torch": torch.__version__,
        "params0": params0.tolist(),
        "grads": [gr.tolist() for gr in grads],
        "cases": cases,
    }


def gen_sched():
    cases = []
    for name, cfg, metrics in SCHED_CASES:
        p = torch.nn.Parameter(torch.zeros(1))
        opt = torch.optim.SGD([p], lr=BASE_LR)
        sched = to_torch_sched(cfg, opt)
        lrs = []
        for epoch in range(N_EPOCHS):
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            if sched is None:
                continue
            if metrics is not None:
                sched.step(metrics[epoch])
            else:
                sched.step()
        case = {"name": name, "config": cfg, "lrs": lrs}
        if metrics is not None:
            case["metrics"] = metrics
        cases.append(case)
    return {
        "generator": "tools/gen-fixtures-optim.py",
        "torch": torch.__version__,
        "base_lr": BASE_LR,
        "epochs": N_EPOCHS,
        "cases": cases,
    }


def write(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")
    print("wrote", path)


def main():
    warnings.simplefilter("ignore")
    torch.set_default_dtype(torch.float32)
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    fixtures = os.path.join(root, "tests", "fixtures")
    os.makedirs(fixtures, exist_ok=True)
    write(os.path.join(fixtures, "optim.json"), gen_optim())
    write(os.path.join(fixtures, "sched.json"), gen_sched())
    return 0


if __name__ == "__main__":
    sys.exit(main())
