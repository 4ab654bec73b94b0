#!/usr/bin/env python3
"""Checks an exported ONNX model with onnx.checker and runs it in onnxruntime.

    onnx-runtime-check.py MODEL.onnx INPUT.bin EXPECTED.bin

INPUT.bin and EXPECTED.bin are float32 little-endian, batch first; the batch is
INPUT's size over the model's input size per sample. Exit status 0 when every
output is within 1e-5 (relative to max(1, |expected|)) of EXPECTED, 1 when not,
77 when onnx or onnxruntime is missing (a test skips then).
"""
import sys

try:
    import numpy as np
    import onnx
    import onnxruntime as ort
except ImportError as e:
    print(f'skip: {e}', file=sys.stderr)
    sys.exit(77)


def main():
    path, xin, yout = sys.argv[1:4]
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    sess = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    inp = sess.get_inputs()[0]
    per = int(np.prod(inp.shape[1:]))
    x = np.fromfile(xin, '<f4')
    x = x.reshape(x.size // per, *inp.shape[1:])
    got = sess.run(None, {inp.name: x})[0]
    want = np.fromfile(yout, '<f4').reshape(got.shape)
    err = np.max(np.abs(got - want) / np.maximum(1.0, np.abs(want)))
    ops = sorted({n.op_type for n in model.graph.node})
    print(f'{path}: opset {model.opset_import[0].version}, {len(model.graph.node)} nodes '
          f'({", ".join(ops)}), max error {err:.3g}')
    sys.exit(0 if err <= 1e-5 else 1)


if __name__ == '__main__':
    main()
