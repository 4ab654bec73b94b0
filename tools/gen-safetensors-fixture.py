#!/usr/bin/python3
"""Writes the safetensors test inputs, built byte by byte with the standard
library only (Debian 12 has no python3-safetensors):

    tests/fixtures/st-reference.safetensors
        A file laid out as PyTorch's `safetensors.torch.save_file` lays it out:
        a compact header (no padding, so the data starts unaligned), then the
        tensors F16, BF16, I64, F32 in that order. tests/test-safetensors.c
        checks every value.

    tests/fuzz/corpus/safetensors/*
        Hostile inputs (and the reference file as a good seed) that the
        fuzz-safetensors program replays on every test run.

Run from anywhere:

    python3 tools/gen-safetensors-fixture.py
"""

import json
import os
import struct

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURE = os.path.join(ROOT, "tests", "fixtures", "st-reference.safetensors")
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus", "safetensors")


def f32_bits(x):
    return struct.unpack("<I", struct.pack("<f", x))[0]


def bf16(x):
    """bfloat16 bytes of x; the values used have no bits below the top 16."""
    bits = f32_bits(x)
    assert bits & 0xFFFF == 0, x
    return struct.pack("<H", bits >> 16)


def pack(header, data):
    """The file: u64 LE header length, the compact JSON header, the data."""
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    return struct.pack("<Q", len(text)) + text + data


def raw(header_text, data=b""):
    """Like pack, but with header text given verbatim (for hostile files)."""
    text = header_text.encode("utf-8") if isinstance(header_text, str) else header_text
    return struct.pack("<Q", len(text)) + text + data


def reference():
    half = [1.0, -2.5, 2.0**-14, 2.0**-24, 65504.0, -0.0]
    brain = [0.5, -3.140625, 2.0**100]
    count = 1234567
    weight = [0.1, -1e-8, 3.4e38, 1.0]

    parts = [
        ("half", "F16", [2, 3], b"".join(struct.pack("<e", v) for v in half)),
        ("brain", "BF16", [3], b"".join(bf16(v) for v in brain)),
        ("bn.num_batches_tracked", "I64", [], struct.pack("<q", count)),
        ("fc.weight", "F32", [2, 2], b"".join(struct.pack("<f", v) for v in weight)),
    ]
    header = {"__metadata__": {"format": "pt"}}
    data = b""
    for name, dtype, shape, blob in parts:
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [len(data), len(data) + len(blob)]}
        data += blob
    out = pack(header, data)
    header_len = struct.unpack("<Q", out[:8])[0]
    # The point of this file is a reader that copes with unaligned data.
    assert (8 + header_len) % 8 != 0, "choose names so the data starts unaligned"
    return out


def hostile():
    f32x4 = struct.pack("<4f", 1, 2, 3, 4)
    one = {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}
    return {
        "empty": b"",
        "short": b"\x10\x00\x00\x00\x00",
        "header-len-huge": struct.pack("<Q", 1 << 63) + b"{}",
        "header-beyond-file": struct.pack("<Q", 4096) + b'{"a":1}',
        "header-not-brace": raw('["not", "an", "object"]'),
        "header-bad-json": raw('{"a": {"dtype": "F32", "shape": [1], '),
        "header-single-quotes": raw("{'a': 1}"),
        "header-comment": raw('{/* " */ "a": 1}'),
        "header-nul": raw(b'{"a":\x00 1}'),
        "header-deep": raw('{"a":' + "[" * 20000 + "]" * 20000 + "}"),
        "dims-huge": pack({"t": {"dtype": "F32", "shape": [1 << 62, 1 << 62, 4],
                                 "data_offsets": [0, 16]}}, f32x4),
        "dims-negative": pack({"t": {"dtype": "F32", "shape": [-4],
                                     "data_offsets": [0, 16]}}, f32x4),
        "dims-seven": pack({"t": {"dtype": "F32", "shape": [1] * 7,
                                  "data_offsets": [0, 4]}}, f32x4[:4]),
        "offsets-negative": pack({"t": {"dtype": "F32", "shape": [4],
                                        "data_offsets": [-16, 0]}}, f32x4),
        "offsets-beyond": pack({"t": {"dtype": "F32", "shape": [1 << 40],
                                      "data_offsets": [0, 1 << 42]}}, f32x4),
        "overlap": pack({"a": one, "b": {"dtype": "F32", "shape": [3],
                                         "data_offsets": [4, 16]}}, f32x4),
        "hole": pack({"a": one, "b": {"dtype": "F32", "shape": [1],
                                      "data_offsets": [12, 16]}}, f32x4),
        "duplicate-name": raw('{"a":%s,"a":%s}' % (json.dumps(one), json.dumps(one)),
                              f32x4[:8]),
        "metadata-nested": pack({"__metadata__": {"net": {"k": 1}}, "a": one}, f32x4[:8]),
        "dtype-unknown": pack({"a": {"dtype": "F17", "shape": [2],
                                     "data_offsets": [0, 8]}}, f32x4[:8]),
        "pytorch-zip": b"PK\x03\x04\x00\x00\x08\x08\x00\x00" + b"archive/data.pkl" + bytes(32),
        "pytorch-pickle": b"\x80\x02\x8a\x0alZ\xfc\x9cF\xf9 j\xa8P\x19." + bytes(16),
    }


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def main():
    ref = reference()
    write(FIXTURE, ref)
    write(os.path.join(CORPUS, "good-reference.safetensors"), ref)
    for name, data in hostile().items():
        write(os.path.join(CORPUS, name + ".safetensors"), data)


if __name__ == "__main__":
    main()
