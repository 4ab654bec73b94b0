#!/usr/bin/python3
"""Writes tests/fixtures/layers.json: PyTorch reference values for every layer
kind, every loss and one small network, read by tests/test-parity.c.

Run with a Python that has PyTorch (on Debian 12: /usr/bin/python3):

    /usr/bin/python3 tools/gen-fixtures.py

Layout of the output (all tensors are flat row-major float32 lists with a
separate shape that includes the batch dimension):

    {"torch_version": ..., "seed": ...,
     "layers": [{"name", "type", "settings" (our JSON settings), "training",
                 "inputs": [{"shape", "data"}], "params": {name: {"shape", "data"}},
                 "output": {"shape", "data"}, "dy", "dx": [...per input],
                 "grads": {name: [...]}, "updated": {buffer: [...]} }],
     "losses": [{"name", "type", "rows", "cols", "logits", "labels" | "target",
                 "label_smoothing", "loss", "dlogits"}],
     "network": {"name", "desc": a network description as dn_network_new_from_json reads,
                 "input", "labels", "logits", "loss", "params": {state-dict key: data},
                 "grads": {state-dict key: data}}}

Parameters are named as in our engine (weight, bias, running_mean, running_var),
which are also PyTorch's names. Dendritic cases (type "dendritic", spec 5.3) use
the names of dn-layer-dendritic.c: main_module[.<i>].<p>,
dendrite_module.layers.<d>[.<i>].<p> (".<i>" only for a group such as conv2d +
batchnorm2d), dendrites_to_top.<k-1> (k, C) and
dendrite_module.dendrites_to_dendrites.<i> (i, C); their values come from a
separate random stream (seed + 1) so adding cases leaves the others unchanged.
Floats are written with the shortest decimal that reads back as the same
float32.
"""

import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

SEED = 1234


def flat(t):
    """A tensor as a list of shortest-round-trip float32 values."""
    a = t.detach().to(torch.float32).contiguous().view(-1).numpy()
    return [float(np.format_float_positional(v, unique=True, trim="-")) for v in a]


def tensor_obj(t):
    return {"shape": list(t.shape), "data": flat(t)}


def away_from_zero(shape, margin=0.05):
    """Normal values pushed away from 0 so relu-like kinks and max ties are far."""
    x = torch.randn(shape)
    return torch.sign(x) * (x.abs() + margin)


def run_module(name, ltype, settings, module, inputs, training, params=None, buffers=None):
    """Runs `module` forward and backward with a random upstream gradient.

    params / buffers: {our name: tensor} copied into the module before the run
    (their names match the module's attributes)."""
    params = params or {}
    buffers = buffers or {}
    with torch.no_grad():
        for k, v in params.items():
            getattr(module, k).copy_(v)
        for k, v in buffers.items():
            getattr(module, k).copy_(v)
    module.train(training)
    xs = [x.clone().requires_grad_(True) for x in inputs]
    before = {k: getattr(module, k).detach().clone() for k in buffers}
    y = module(*xs)
    dy = torch.randn(y.shape)
    y.backward(dy)
    case = {
        "name": name,
        "type": ltype,
        "settings": settings,
        "training": training,
        "inputs": [tensor_obj(x) for x in inputs],
        "params": {},
        "output": tensor_obj(y),
        "dy": flat(dy),
        "dx": [flat(x.grad) for x in xs],
        "grads": {},
    }
    for k in params:
        case["params"][k] = tensor_obj(getattr(module, k))
        case["grads"][k] = flat(getattr(module, k).grad)
    for k in buffers:
        # The value the layer starts from; "updated" holds it after the forward.
        case["params"][k] = tensor_obj(before[k])
    if training and buffers:
        case["updated"] = {k: flat(getattr(module, k)) for k in buffers}
    return case


class Fn(nn.Module):
    """A parameterless layer given as a function of its inputs."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, *xs):
        return self.fn(*xs)


def linear_cases():
    out = []
    for bias in (True, False):
        m = nn.Linear(6, 4, bias=bias)
        p = {"weight": torch.randn(4, 6) * 0.5}
        if bias:
            p["bias"] = torch.randn(4) * 0.5
        s = {"in_features": 6, "out_features": 4}
        if not bias:
            s["bias"] = False
        out.append(run_module("linear_bias" if bias else "linear_nobias", "linear", s, m,
                              [torch.randn(3, 6)], False, p))
    return out


def conv2d_case(name, cin, cout, k, hw, stride=1, padding=0, dilation=1, groups=1, bias=True):
    m = nn.Conv2d(cin, cout, k, stride=stride, padding=padding, dilation=dilation,
                  groups=groups, bias=bias)
    kh, kw = (k, k) if isinstance(k, int) else k
    p = {"weight": torch.randn(cout, cin // groups, kh, kw) * 0.3}
    if bias:
        p["bias"] = torch.randn(cout) * 0.3
    s = {"in_channels": cin, "out_channels": cout, "kernel_size": k}
    if stride != 1:
        s["stride"] = stride
    if padding != 0:
        s["padding"] = padding
    if dilation != 1:
        s["dilation"] = dilation
    if groups != 1:
        s["groups"] = groups
    if not bias:
        s["bias"] = False
    x = torch.randn(2, cin, hw[0], hw[1])
    return run_module(name, "conv2d", s, m, [x], False, p)


def conv_cases():
    out = [
        conv2d_case("conv2d_plain", 2, 3, 3, (5, 5)),
        conv2d_case("conv2d_stride2_pad1", 2, 3, 3, (5, 5), stride=2, padding=1),
        conv2d_case("conv2d_dilation2", 2, 3, 3, (6, 6), dilation=2),
        conv2d_case("conv2d_groups2", 4, 6, 3, (5, 5), groups=2),
        conv2d_case("conv2d_nobias", 2, 3, 3, (5, 5), bias=False),
        conv2d_case("conv2d_kernel3x2", 2, 3, [3, 2], (5, 4), padding=[1, 0]),
    ]
    m = nn.Conv1d(2, 3, 3, stride=2, padding=1)
    p = {"weight": torch.randn(3, 2, 3) * 0.3, "bias": torch.randn(3) * 0.3}
    s = {"in_channels": 2, "out_channels": 3, "kernel_size": 3, "stride": 2, "padding": 1}
    out.append(run_module("conv1d_stride2_pad1", "conv1d", s, m, [torch.randn(2, 2, 7)], False, p))
    m = nn.Conv1d(2, 4, 2, dilation=2, groups=2, bias=False)
    p = {"weight": torch.randn(4, 1, 2) * 0.3}
    s = {"out_channels": 4, "kernel_size": 2, "dilation": 2, "groups": 2, "bias": False}
    out.append(run_module("conv1d_groups_dilation", "conv1d", s, m, [torch.randn(2, 2, 6)], False,
                          p))
    return out


def pool_cases():
    x = lambda: torch.randn(2, 2, 5, 5)
    return [
        run_module("maxpool2d_k2", "maxpool2d", {"kernel_size": 2}, nn.MaxPool2d(2), [x()], False),
        run_module("maxpool2d_k3_s2_p1", "maxpool2d",
                   {"kernel_size": 3, "stride": 2, "padding": 1},
                   nn.MaxPool2d(3, stride=2, padding=1), [x()], False),
        run_module("avgpool2d_k2", "avgpool2d", {"kernel_size": 2}, nn.AvgPool2d(2), [x()], False),
        run_module("avgpool2d_k3_s2_p1_incl", "avgpool2d",
                   {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": True},
                   nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=True), [x()], False),
        run_module("avgpool2d_k3_s2_p1_excl", "avgpool2d",
                   {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False},
                   nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False), [x()], False),
        run_module("adaptive_avgpool2d", "adaptive_avgpool2d", {"output_size": 1},
                   nn.AdaptiveAvgPool2d(1), [torch.randn(2, 3, 4, 5)], False),
    ]


def norm_params(c):
    return {"weight": 1.0 + 0.3 * torch.randn(c), "bias": 0.3 * torch.randn(c)}


def norm_buffers(c):
    return {"running_mean": 0.5 * torch.randn(c), "running_var": 0.5 + torch.rand(c)}


def norm_cases():
    out = []
    # batchnorm1d on (B, F) and (B, C, L); batchnorm2d on (B, C, H, W).
    for name, ltype, mod, shape in (
        ("batchnorm1d_f", "batchnorm1d", nn.BatchNorm1d, (4, 3)),
        ("batchnorm1d_cl", "batchnorm1d", nn.BatchNorm1d, (3, 2, 4)),
        ("batchnorm2d", "batchnorm2d", nn.BatchNorm2d, (2, 3, 4, 4)),
    ):
        c = shape[1]
        for training in (True, False):
            m = mod(c, momentum=0.2 if training else 0.1)
            s = {"num_features": c}
            if training:
                s["momentum"] = 0.2
            x = torch.randn(shape) * 1.5 + 0.5
            out.append(run_module(name + ("_train" if training else "_eval"), ltype, s, m, [x],
                                  training, norm_params(c), norm_buffers(c)))
    # batchnorm2d without affine, training.
    m = nn.BatchNorm2d(2, affine=False, eps=1e-3)
    out.append(run_module("batchnorm2d_noaffine_train", "batchnorm2d",
                          {"num_features": 2, "affine": False, "eps": 1e-3}, m,
                          [torch.randn(3, 2, 3, 3)], True, None, norm_buffers(2)))
    # layernorm over the features of (B, F) and over (C, H, W).
    m = nn.LayerNorm(5)
    out.append(run_module("layernorm_1d", "layernorm", {"normalized_shape": 5}, m,
                          [torch.randn(3, 5) * 2.0 + 1.0], False, norm_params(5)))
    m = nn.LayerNorm([2, 3, 3])
    p = {"weight": 1.0 + 0.3 * torch.randn(2, 3, 3), "bias": 0.3 * torch.randn(2, 3, 3)}
    out.append(run_module("layernorm_chw", "layernorm", {"normalized_shape": [2, 3, 3]}, m,
                          [torch.randn(2, 2, 3, 3)], False, p))
    return out


def act_cases():
    x = lambda: away_from_zero((3, 2, 4))
    out = [
        run_module("relu", "relu", {}, nn.ReLU(), [x()], False),
        run_module("leaky_relu", "leaky_relu", {"negative_slope": 0.2}, nn.LeakyReLU(0.2), [x()],
                   False),
        run_module("sigmoid", "sigmoid", {}, nn.Sigmoid(), [torch.randn(3, 7) * 2], False),
        run_module("tanh", "tanh", {}, nn.Tanh(), [torch.randn(3, 7)], False),
        run_module("gelu", "gelu", {}, nn.GELU(), [torch.randn(3, 7) * 2], False),
        run_module("softmax", "softmax", {"dim": 1}, nn.Softmax(dim=1), [torch.randn(3, 6) * 2],
                   False),
        run_module("log_softmax", "log_softmax", {"dim": 1}, nn.LogSoftmax(dim=1),
                   [torch.randn(3, 6) * 2], False),
        run_module("dropout_eval", "dropout", {"p": 0.3}, nn.Dropout(0.3), [torch.randn(3, 5)],
                   False),
        run_module("flatten", "flatten", {}, nn.Flatten(), [torch.randn(2, 2, 3, 3)], False),
        run_module("add", "add", {}, Fn(lambda a, b: a + b),
                   [torch.randn(2, 3, 2, 2), torch.randn(2, 3, 2, 2)], False),
        run_module("concat", "concat", {}, Fn(lambda a, b: torch.cat([a, b], dim=1)),
                   [torch.randn(2, 2, 3, 3), torch.randn(2, 3, 3, 3)], False),
    ]
    return out


def loss_cases():
    out = []
    rows, cols = 4, 5
    for ls in (0.0, 0.1):
        logits = (torch.randn(rows, cols) * 2).requires_grad_(True)
        labels = torch.randint(0, cols, (rows,))
        loss = F.cross_entropy(logits, labels, label_smoothing=ls)
        loss.backward()
        out.append({"name": "cross_entropy" + ("_smoothing" if ls else ""), "type": "cross_entropy",
                    "rows": rows, "cols": cols, "logits": flat(logits),
                    "labels": labels.tolist(), "label_smoothing": ls,
                    "loss": loss.item(), "dlogits": flat(logits.grad)})
    logp = F.log_softmax(torch.randn(rows, cols) * 2, dim=1).requires_grad_(True)
    labels = torch.randint(0, cols, (rows,))
    loss = F.nll_loss(logp, labels)
    loss.backward()
    out.append({"name": "nll", "type": "nll", "rows": rows, "cols": cols, "logits": flat(logp),
                "labels": labels.tolist(), "loss": loss.item(), "dlogits": flat(logp.grad)})
    pred = torch.randn(rows, cols).requires_grad_(True)
    target = torch.randn(rows, cols)
    loss = F.mse_loss(pred, target)
    loss.backward()
    out.append({"name": "mse", "type": "mse", "rows": rows, "cols": cols, "logits": flat(pred),
                "target": flat(target), "loss": loss.item(), "dlogits": flat(pred.grad)})
    # Large logits of both signs exercise the numerically stable form.
    logits = (torch.randn(rows, cols) * 4).requires_grad_(True)
    with torch.no_grad():
        logits[0, 0] = 40.0
        logits[1, 1] = -40.0
    target = torch.rand(rows, cols)
    target[2] = (target[2] > 0.5).float()
    loss = F.binary_cross_entropy_with_logits(logits, target)
    loss.backward()
    out.append({"name": "bce_logits", "type": "bce_logits", "rows": rows, "cols": cols,
                "logits": flat(logits), "target": flat(target), "loss": loss.item(),
                "dlogits": flat(logits.grad)})
    return out


class SmallNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 3, 3)
        self.fc1 = nn.Linear(12, 4)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        return self.fc1(torch.flatten(x, 1))


def network_case():
    net = SmallNet()
    x = torch.randn(3, 1, 6, 6)
    labels = torch.randint(0, 4, (3,))
    logits = net(x)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    layers = [
        {"type": "conv2d", "name": "conv1", "in_channels": 1, "out_channels": 3,
         "kernel_size": 3},
        {"type": "relu", "name": "relu1"},
        {"type": "maxpool2d", "name": "pool1", "kernel_size": 2},
        {"type": "flatten", "name": "flatten"},
        {"type": "linear", "name": "fc1", "in_features": 12, "out_features": 4},
    ]
    sd = dict(net.named_parameters())
    return {
        "name": "conv_relu_pool_fc",
        "desc": {"input": [1, 6, 6], "layers": layers},
        "input": tensor_obj(x),
        "labels": labels.tolist(),
        "logits": tensor_obj(logits),
        "loss": loss.item(),
        "params": {k: tensor_obj(v) for k, v in sd.items()},
        "grads": {k: flat(v.grad) for k, v in sd.items()},
    }


# ---- dendritic layers (spec 5.3) ----

DENDRITIC_MODULES = {
    # name: (our "layers" settings, a torch module factory, input shape with batch)
    "linear": ([{"type": "linear", "in_features": 5, "out_features": 4}],
               lambda: nn.Linear(5, 4), (3, 5)),
    "conv2d": ([{"type": "conv2d", "in_channels": 2, "out_channels": 3, "kernel_size": 2}],
               lambda: nn.Conv2d(2, 3, 2), (2, 2, 4, 4)),
    "conv2d_bn": ([{"type": "conv2d", "in_channels": 2, "out_channels": 3, "kernel_size": 2},
                   {"type": "batchnorm2d", "num_features": 3}],
                  lambda: nn.Sequential(nn.Conv2d(2, 3, 2), nn.BatchNorm2d(3)), (2, 2, 4, 4)),
    # A group ending in a layer whose backward reads its own output.
    "linear_tanh": ([{"type": "linear", "in_features": 5, "out_features": 4}, {"type": "tanh"}],
                    lambda: nn.Sequential(nn.Linear(5, 4), nn.Tanh()), (3, 5)),
}

FORWARD_FUNCTIONS = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}


def fill_module(module):
    """Random values in a neuron module (or a dendrite copy): weights large enough
    that every dendrite matters, batch-norm scales around 1, positive variances."""
    with torch.no_grad():
        for sub in module.modules():
            if isinstance(sub, nn.BatchNorm2d):
                sub.weight.copy_(1.0 + 0.3 * torch.randn(sub.weight.shape))
                sub.bias.copy_(0.3 * torch.randn(sub.bias.shape))
                sub.running_mean.copy_(0.5 * torch.randn(sub.running_mean.shape))
                sub.running_var.copy_(0.5 + torch.rand(sub.running_var.shape))
            elif isinstance(sub, (nn.Linear, nn.Conv2d)):
                sub.weight.copy_(0.5 * torch.randn(sub.weight.shape))
                sub.bias.copy_(0.5 * torch.randn(sub.bias.shape))


def module_state(prefix, module):
    """(our name, tensor, trainable) for every parameter and running statistic, named
    as dn-layer-dendritic.c names them: <prefix>.<p> for one layer, <prefix>.<i>.<p>
    for a group (torch's Sequential gives the same "<i>." prefix)."""
    out = [(f"{prefix}.{n}", p, True) for n, p in module.named_parameters()]
    out += [(f"{prefix}.{n}", b, False) for n, b in module.named_buffers()
            if not n.endswith("num_batches_tracked")]
    return out


def dendritic_case(kind, k, ff, training):
    """A neuron module with k dendrites, computed as spec 5.3 writes it, with
    non-zero dendrite-to-neuron (T) and cascade (D2D) weights."""
    layers, make, xshape = DENDRITIC_MODULES[kind]
    main = make()
    dends = [make() for _ in range(k)]
    for m in [main] + dends:
        fill_module(m)
        m.train(training)
    x = torch.randn(xshape)
    state = module_state("main_module", main)
    for d, m in enumerate(dends):
        state += module_state(f"dendrite_module.layers.{d}", m)
    c = layers[0].get("out_features", layers[0].get("out_channels"))
    top = None
    d2d = [None]
    if k > 0:
        top = (0.8 * torch.randn(k, c)).requires_grad_(True)
        state.append((f"dendrites_to_top.{k - 1}", top, True))
    for i in range(1, k):
        w = (0.8 * torch.randn(i, c)).requires_grad_(True)
        d2d.append(w)
        state.append((f"dendrite_module.dendrites_to_dendrites.{i}", w, True))
    before = {n: t.detach().clone() for n, t, _ in state}

    xr = x.clone().requires_grad_(True)
    y = main(xr)
    bc = (1, c) + (1,) * (y.dim() - 2)  # broadcast along the channel axis
    sigma = FORWARD_FUNCTIONS[ff]
    s = []
    for i in range(k):
        a = dends[i](xr)
        for j in range(i):
            a = a + d2d[i][j].view(bc) * s[j]
        s.append(sigma(a))
    out = y
    for i in range(k):
        out = out + top[i].view(bc) * s[i]
    dy = torch.randn(out.shape)
    out.backward(dy)

    settings = {"dendrites": k, "forward_function": ff, "layers": layers}
    case = {
        "name": f"{kind}_k{k}_{ff}" + ("_train" if training else ""),
        "type": "dendritic",
        "settings": settings,
        "training": training,
        "inputs": [tensor_obj(x)],
        "params": {n: tensor_obj(before[n]) for n, _, _ in state},
        "output": tensor_obj(out),
        "dy": flat(dy),
        "dx": [flat(xr.grad)],
        "grads": {n: flat(t.grad) for n, t, trainable in state if trainable},
    }
    buffers = [(n, t) for n, t, trainable in state if not trainable]
    if training and buffers:
        case["updated"] = {n: flat(t) for n, t in buffers}
    return case


def dendritic_cases():
    out = []
    for kind in ("linear", "conv2d", "conv2d_bn"):
        training = kind == "conv2d_bn"
        out.append(dendritic_case(kind, 0, "sigmoid", training))
        for k in (1, 3):
            for ff in FORWARD_FUNCTIONS:
                out.append(dendritic_case(kind, k, ff, training))
    # The group in eval mode: running statistics normalise every copy.
    out.append(dendritic_case("conv2d_bn", 3, "sigmoid", False))
    out.append(dendritic_case("linear_tanh", 3, "sigmoid", False))
    return out


class ActiveDendrite(nn.Module):
    """Active dendrites as docs/continual.md states them: t = x W^T + b; segment j of
    unit i responds d_ij = U_ij . c; the winner (largest |d|, or largest d) gates t."""

    def __init__(self, n_in, n_out, segments, dim, gating, mask):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n_out, n_in) * 0.5 * mask)
        self.bias = nn.Parameter(torch.randn(n_out) * 0.5)
        self.segments = nn.Parameter(torch.randn(n_out, segments, dim) * 0.5)
        self.register_buffer("weight_mask", mask)
        self.gating = gating

    def forward(self, x, contexts, index):
        t = F.linear(x, self.weight, self.bias)
        d = torch.einsum("osc,pc->pos", self.segments, contexts)[index]  # (B, O, S)
        pick = d.abs() if self.gating == "abs_max" else d
        win = pick.argmax(-1, keepdim=True)
        g = d.gather(-1, win).squeeze(-1)  # gradient reaches the winner only
        return t + g if self.gating == "additive" else t * torch.sigmoid(g)


def random_mask(n_out, n_in, keep):
    m = torch.zeros(n_out, n_in)
    for o in range(n_out):
        m[o, torch.randperm(n_in)[:keep]] = 1.0
    return m


def active_cases():
    out = []
    for gating in ("abs_max", "max", "additive"):
        mask = random_mask(5, 6, 3)
        m = ActiveDendrite(6, 5, 3, 4, gating, mask)
        x = torch.randn(4, 6, requires_grad=True)
        contexts = torch.randn(2, 4)
        index = [0, 1, 1, 0]
        y = m(x, contexts, torch.tensor(index))
        dy = torch.randn(y.shape)
        y.backward(dy)
        out.append({
            "name": f"active_dendrite_{gating}",
            "type": "active_dendrite",
            "settings": {"in_features": 6, "out_features": 5, "segments": 3, "context_dim": 4,
                         "weight_sparsity": 0.5, "gating": gating},
            "training": True,
            "inputs": [tensor_obj(x.detach())],
            "contexts": tensor_obj(contexts),
            "context_index": index,
            "params": {"weight": tensor_obj(m.weight.detach()), "bias": tensor_obj(m.bias.detach()),
                       "segments": tensor_obj(m.segments.detach()),
                       "weight_mask": tensor_obj(mask)},
            "output": tensor_obj(y.detach()),
            "dy": flat(dy),
            "dx": [flat(x.grad)],
            # masked weights are constants (zero), not parameters: no gradient
            "grads": {"weight": flat(m.weight.grad * mask), "bias": flat(m.bias.grad),
                      "segments": flat(m.segments.grad)},
        })
    # sparse_linear: a masked linear layer
    mask = random_mask(4, 8, 4)
    lin = nn.Linear(8, 4)
    p = {"weight": torch.randn(4, 8) * 0.5 * mask, "bias": torch.randn(4) * 0.5}
    case = run_module("sparse_linear", "sparse_linear",
                      {"in_features": 8, "out_features": 4, "weight_sparsity": 0.5}, lin,
                      [torch.randn(3, 8)], False, p)
    case["params"]["weight_mask"] = tensor_obj(mask)
    case["grads"]["weight"] = flat(lin.weight.grad * mask)
    out.append(case)
    # k-WTA: entries >= the row's k-th largest pass, the rest are zero
    def kwta(x, k=3):
        thr = x.topk(k, dim=1).values[:, -1:].detach()
        return torch.where(x >= thr, x, torch.zeros_like(x))
    out.append(run_module("kwta_k3", "kwta", {"k": 3}, Fn(kwta), [torch.randn(4, 10)], False))
    return out


def main():
    torch.manual_seed(SEED)
    torch.set_default_dtype(torch.float32)
    torch.set_num_threads(1)
    doc = {
        "generator": "tools/gen-fixtures.py",
        "torch_version": torch.__version__,
        "seed": SEED,
        "layers": linear_cases() + conv_cases() + pool_cases() + norm_cases() + act_cases(),
        "losses": loss_cases(),
        "network": network_case(),
    }
    # Dendritic cases draw from their own stream so the cases above stay as they were.
    torch.manual_seed(SEED + 1)
    doc["layers"] += dendritic_cases()
    # Active dendrites likewise.
    torch.manual_seed(SEED + 2)
    doc["layers"] += active_cases()
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "..", "tests", "fixtures", "layers.json")
    if len(sys.argv) > 1:
        path = sys.argv[1]
    text = json.dumps(doc, separators=(",", ":"))
    # One case per line keeps diffs readable without growing the file much.
    text = text.replace('{"name":', '\n{"name":')
    with open(path, "w") as f:
        f.write(text + "\n")
    print(f"wrote {path}: {len(doc['layers'])} layer cases, {len(doc['losses'])} losses, "
          f"{len(text)} bytes")


if __name__ == "__main__":
    main()
