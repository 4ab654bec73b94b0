#!/usr/bin/env python3
"""The MNIST CNN's training step in PyTorch (CUDA, eager) on the same GPU, for
comparison with dn-bench-cuda: batch 64 and 512, random MNIST-shaped data already on
the device, forward + cross-entropy + backward + Adadelta, median samples/s of
`repeats` timed runs of `steps` steps after a warm-up run.

Usage: python3 bench/cuda/pytorch-cuda.py [--steps 50] [--repeats 5] [--json FILE]"""
import argparse
import json
import statistics
import time

import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from pytorch_nets import Net  # noqa: E402  (bench/, one folder up)


def bench(batch, steps, repeats):
    dev = torch.device("cuda")
    torch.manual_seed(1)
    net = Net().to(dev)
    opt = torch.optim.Adadelta(net.parameters(), lr=1.0)
    x = torch.rand(batch, 1, 28, 28, device=dev)
    y = torch.randint(0, 10, (batch,), device=dev)
    rates = []
    for r in range(repeats + 1):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(steps):
            opt.zero_grad()
            loss = F.cross_entropy(net(x), y)
            loss.backward()
            opt.step()
            loss.item()  # the loss comes back to the host each step, as in dendrite
        torch.cuda.synchronize()
        if r > 0:
            rates.append(steps * batch / (time.perf_counter() - t0))
    return statistics.median(rates)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--json")
    a = ap.parse_args()
    # full fp32, as the dendrite backend (no TF32 in either)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    out = {"torch": torch.__version__, "gpu": torch.cuda.get_device_name(0)}
    for batch in (64, 512):
        rate = bench(batch, a.steps, a.repeats)
        print(f"{'pytorch eager MNIST CNN, batch ' + str(batch):44s} {rate:10.0f} samples/s")
        out[f"cnn_batch_{batch}_samples_per_s"] = rate
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
