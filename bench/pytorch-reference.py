#!/usr/bin/python3
"""The same training steps in PyTorch (Debian's python3-torch), for comparison
with dn-bench: the MNIST CNN and the 784-256-10 MLP at batch 64 on random
Fashion-MNIST-shaped data, forward + cross-entropy + backward + the examples' own
optimizer step (Adadelta for the CNN, Adam for the MLP, as dn-bench).

Usage: /usr/bin/python3 bench/pytorch-reference.py [--threads 2] [--repeats 5]
Prints samples/s (median, min, max) and writes bench/pytorch-results.json."""
import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F

from pytorch_nets import Net, mlp


def bench(model, make_opt, steps, repeats, batch=64):
    opt = make_opt(model.parameters())
    x = torch.randn(batch, 1, 28, 28)
    y = torch.randint(0, 10, (batch,))
    rates = []
    for r in range(repeats + 1):
        t = time.perf_counter()
        for _ in range(steps):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
        dt = time.perf_counter() - t
        if r > 0:
            rates.append(steps * batch / dt)
    return statistics.median(rates), min(rates), max(rates)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--steps", type=int, default=20)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    # data/examples/mnist-cnn.json and mlp.json
    cnn = bench(Net(), lambda p: torch.optim.Adadelta(p, lr=1.0), args.steps, args.repeats)
    m = bench(mlp(), lambda p: torch.optim.Adam(p, lr=0.001), args.steps * 10, args.repeats)
    print(f"PyTorch {torch.__version__}, {args.threads} threads")
    print(f"train MNIST CNN, batch 64   {cnn[0]:8.0f} samples/s (min {cnn[1]:.0f}, max {cnn[2]:.0f})")
    print(f"train MLP 784-256-10        {m[0]:8.0f} samples/s (min {m[1]:.0f}, max {m[2]:.0f})")
    with open("bench/pytorch-results.json", "w") as f:
        json.dump({"torch": torch.__version__, "threads": args.threads,
                   "cnn_samples_per_s": cnn[0], "mlp_samples_per_s": m[0]}, f, indent=2)


if __name__ == "__main__":
    main()
