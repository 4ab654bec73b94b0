#!/usr/bin/env python3
"""Writes data/examples/continual/*.json: the Active Dendrites paper's permuted-MNIST
configurations for T in 2, 5, 10, 25, 50, 100, with the hyper-parameters of the
reference code (docs/continual.md lists them). Run from the source tree root."""
import json
import os

TS = [2, 5, 10, 25, 50, 100]
# (epochs per task, learning rate) per T; None: the reference has no configuration
TABLE = {
    "prototype": {2: (1, 5e-4), 5: (1, 5e-4), 10: (3, 5e-4), 25: (5, 3e-4), 50: (3, 3e-4), 100: (3, 1e-4)},
    "prototype_segments_10": {2: (5, 1e-3), 5: (5, 7e-4), 10: (3, 5e-4), 25: (5, 3e-4), 50: (5, 7e-5), 100: (3, 7e-5)},
    "si_prototype": {10: (20, 5e-4), 50: (20, 5e-4), 100: (20, 5e-4)},
    "active_dendrites_only": {2: (5, 5e-4), 5: (10, 1e-3), 10: (5, 5e-6), 25: (5, 5e-6), 50: (5, 1e-5), 100: (5, 5e-6)},
    "sparse_representations_only": {2: (3, 1e-3), 5: (10, 5e-5), 10: (5, 1e-4), 25: (10, 1e-5), 50: (10, 1e-5), 100: (5, 1e-4)},
    "three_layer_mlp": {10: (5, 3e-6), 100: (3, 1e-6)},
    "ten_layer_mlp": {10: (3, 3e-6), 100: (3, 3e-7)},
}


def settings(family, t):
    row = TABLE[family]
    if t in row:
        return row[t], None
    # nearest configured T (ties: the smaller)
    near = min(row, key=lambda k: (abs(k - t), k))
    return row[near], near


def dendritic(units, segments, ctx_density, kwta, input_density_after):
    layers = [{"name": "flatten", "type": "flatten"}]
    for i in (1, 2):
        layer = {"name": f"fc{i}", "type": "active_dendrite" if segments else "sparse_linear",
                 "out_features": units, "weight_sparsity": 0.5,
                 "input_density": 1.0 if i == 1 else input_density_after}
        if segments:
            layer.update({"segments": segments, "context_dim": 784,
                          "context_density": ctx_density, "gating": "abs_max"})
        layers.append(layer)
        layers.append({"name": f"kwta{i}", "type": "kwta", "percent_on": 0.05} if kwta
                      else {"name": f"relu{i}", "type": "relu"})
    layers.append({"name": "head", "type": "sparse_linear", "out_features": 10,
                   "weight_sparsity": 0.5, "input_density": input_density_after})
    return layers


def mlp(hidden_layers):
    layers = [{"name": "flatten", "type": "flatten"}]
    for i in range(1, hidden_layers + 1):
        layers.append({"name": f"fc{i}", "type": "sparse_linear", "out_features": 2048,
                       "input_density": 1.0 if i == 1 else 0.5})
        layers.append({"name": f"relu{i}", "type": "relu"})
    layers.append({"name": "head", "type": "sparse_linear", "out_features": 10, "input_density": 0.5})
    return layers


def experiment(family, t):
    (epochs, lr), near = settings(family, t)
    context, si, reset = "prototype", False, True
    if family == "prototype":
        layers, desc = dendritic(2048, t, 0.1, True, 0.05), f"Active Dendrites Network, {t} segments per unit"
    elif family == "prototype_segments_10":
        layers, desc = dendritic(2048, 10, 0.05, True, 0.05), "Active Dendrites Network, 10 segments per unit"
    elif family == "si_prototype":
        layers, desc = dendritic(2000, t, 0.1, True, 0.05), f"Active Dendrites + Synaptic Intelligence, 2000 units, {t} segments"
        si, reset = True, False
    elif family == "active_dendrites_only":
        layers, desc = dendritic(2048, t, 0.1, False, 1.0), "Ablation: active dendrites with ReLU instead of k-WTA"
    elif family == "sparse_representations_only":
        layers, desc = dendritic(2048, 0, 0.1, True, 0.05), "Ablation: k-WTA sparsity without dendrites"
        context = "none"
    elif family == "three_layer_mlp":
        layers, desc = mlp(2), "Baseline: 3-layer MLP (2 x 2048 ReLU), no context"
        context = "none"
    else:
        layers, desc = mlp(9), "Baseline: 10-layer MLP (9 x 2048 ReLU), no context"
        context = "none"
    desc += f" on {t} permuted-MNIST tasks; {epochs} epochs per task, Adam lr {lr:g}"
    if near is not None:
        desc += f" (the reference configures T = {near} only; its settings are used)"
    cl = {"tasks": t, "permutation_seed": 42, "epochs_per_task": epochs, "context": context,
          "reset_optimizer": reset, "drop_last": True, "eval_batch_size": 512}
    # every task's row of the accuracy matrix up to 25 tasks; beyond, the reference's points
    cl["evaluate_after"] = "every_task" if t <= 25 else [p for p in (1, 4, 9, 24, 49, 99) if p < t]
    if si:
        cl["synaptic_intelligence"] = {"c": 0.1, "xi": 0.1, "first_task": 2}
    name = f"{family.replace('prototype_segments_10', 'prototype')}_{t}"
    if family == "prototype_segments_10":
        name = f"prototype_{t}_segments_10"
    return name, {
        "name": name,
        "description": desc,
        "data": {"format": "idx", "path": None, "validation_split": 0.0,
                 "normalize": "dataset"},
        "network": {"input": [1, 28, 28], "layers": layers},
        "training": {"optimizer": {"type": "adam", "lr": lr}, "scheduler": {"type": "none"},
                     "loss": "cross_entropy", "batch_size": 256, "epochs": epochs, "seed": 1,
                     "device": "cpu"},
        "output": {"dir": "runs"},
        "continual": cl,
    }


def main():
    out = "data/examples/continual"
    os.makedirs(out, exist_ok=True)
    names = []
    for family in TABLE:
        for t in TS:
            name, exp = experiment(family, t)
            with open(os.path.join(out, name + ".json"), "w") as f:
                json.dump(exp, f, indent=2)
                f.write("\n")
            names.append(name)
    print(f"wrote {len(names)} experiments to {out}")


if __name__ == "__main__":
    main()
