#!/usr/bin/env python3
"""Makes the ONNX fixtures of tests/fixtures/onnx/ (committed; the tests need no Python).

    python3 -m venv /tmp/onnx-venv
    /tmp/onnx-venv/bin/pip install torch --index-url https://download.pytorch.org/whl/cpu
    /tmp/onnx-venv/bin/pip install onnx onnxruntime
    /tmp/onnx-venv/bin/python tools/make-onnx-fixtures.py

For each case NAME it writes NAME.onnx, NAME.in.bin (a few input samples) and
NAME.out.bin (onnxruntime's outputs for them), both float32 little-endian, batch
first. The cases are:

* the project's example networks exported by torch.onnx.export (opset 17, eval
  mode, fixed seeds, batch-norm statistics drawn at random so they matter), with
  reduced widths to keep the files small: mnist-cnn (conv 1->4->8, fc 1152->16->10),
  resnet-small (widths 4 and 8 for 16 and 32), mlp (784->16->10);
* small PyTorch networks for the other operators import maps (LeakyReLU, the erf
  form of GELU, LayerNorm, average pooling with padding, Conv1d with groups and
  dilation, Concat, Softmax / LogSoftmax), a MatMul + Add written with onnx.helper,
  and an MLP whose weights are external data beside the model;
* operator models of Debian's libonnx-testdata (/usr/share/libonnx-testdata), with
  the inputs after the first turned into initializers (weights), checked against
  the data set's own expected outputs;
* hostile/: models import must refuse with a clear error (huge dimensions, a
  cycle, a missing initializer, a lying tensor size, external data outside the
  model's folder, an unknown operator, a truncated file), also the fuzz corpus.

Every model passes onnx.checker (except the hostile ones, which are meant not to).
"""
import os
import shutil
import sys

import numpy as np
import onnx
import onnx.version_converter
import onnxruntime as ort
import torch
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, 'tests', 'fixtures', 'onnx')
HOSTILE = os.path.join(OUT, 'hostile')
CORPUS = os.path.join(ROOT, 'tests', 'fuzz', 'corpus', 'onnx')
TESTDATA = '/usr/share/libonnx-testdata/data/node'
N = 4  # samples per case


def run(path, x):
    sess = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    return sess.run(None, {sess.get_inputs()[0].name: x})[0]


def write_case(name, x, y=None):
    path = os.path.join(OUT, name + '.onnx')
    onnx.checker.check_model(onnx.load(path), full_check=True)
    got = run(path, x)
    if y is not None:
        np.testing.assert_allclose(got, y, rtol=1e-5, atol=1e-5)
    x.astype('<f4').tofile(os.path.join(OUT, name + '.in.bin'))
    got.astype('<f4').tofile(os.path.join(OUT, name + '.out.bin'))


def randomize_bn(model):
    g = torch.Generator().manual_seed(7)
    for m in model.modules():
        if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=g) * 0.1)


def export(name, model, shape, **kw):
    torch.manual_seed(1)
    model.eval()
    randomize_bn(model)
    x = torch.randn(N, *shape)
    path = os.path.join(OUT, name + '.onnx')
    torch.onnx.export(model, (x[:1],), path, dynamo=False, opset_version=17,
                      input_names=['input'], output_names=['output'],
                      dynamic_axes={'input': {0: 'N'}, 'output': {0: 'N'}}, **kw)
    write_case(name, x.numpy())


class Cnn(torch.nn.Module):
    """PyTorch's MNIST example (data/examples/mnist-cnn.json), narrower."""
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 4, 3)
        self.conv2 = torch.nn.Conv2d(4, 8, 3)
        self.dropout1 = torch.nn.Dropout(0.25)
        self.fc1 = torch.nn.Linear(8 * 12 * 12, 16)
        self.dropout2 = torch.nn.Dropout(0.5)
        self.fc2 = torch.nn.Linear(16, 10)

    def forward(self, x):
        x = torch.relu(self.conv1(x))
        x = torch.nn.functional.max_pool2d(torch.relu(self.conv2(x)), 2)
        x = torch.flatten(self.dropout1(x), 1)
        return self.fc2(self.dropout2(torch.relu(self.fc1(x))))


class Block(torch.nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = torch.nn.BatchNorm2d(cout)
        self.conv2 = torch.nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = torch.nn.BatchNorm2d(cout)
        self.shortcut = None
        if stride != 1 or cin != cout:
            self.shortcut = torch.nn.Sequential(torch.nn.Conv2d(cin, cout, 1, stride, bias=False),
                                                torch.nn.BatchNorm2d(cout))

    def forward(self, x):
        y = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
        return torch.relu(y + (x if self.shortcut is None else self.shortcut(x)))


class ResNet(torch.nn.Module):
    """data/examples/resnet-small.json with widths 4 and 8."""
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 4, 3, 1, 1, bias=False)
        self.bn1 = torch.nn.BatchNorm2d(4)
        self.block1 = Block(4, 4, 1)
        self.block2 = Block(4, 8, 2)
        self.pool = torch.nn.AdaptiveAvgPool2d(1)
        self.fc = torch.nn.Linear(8, 10)

    def forward(self, x):
        x = self.block2(self.block1(torch.relu(self.bn1(self.conv1(x)))))
        return self.fc(torch.flatten(self.pool(x), 1))


class Ops2d(torch.nn.Module):
    """LeakyReLU, average pooling with padding, Concat, GELU (erf), LayerNorm, Tanh,
    LogSoftmax."""
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(2, 4, 3, padding=1, dilation=1)
        self.side = torch.nn.Conv2d(2, 3, 3, padding=2, dilation=2, bias=False)
        self.pool = torch.nn.AvgPool2d(3, 2, padding=1, count_include_pad=False)
        self.fc = torch.nn.Linear(7 * 4 * 4, 12)
        self.norm = torch.nn.LayerNorm(12)
        self.out = torch.nn.Linear(12, 5)

    def forward(self, x):
        x = torch.cat([torch.nn.functional.leaky_relu(self.conv(x), 0.2), self.side(x)], 1)
        x = torch.nn.functional.gelu(torch.flatten(self.pool(x), 1))
        return torch.log_softmax(self.out(torch.tanh(self.norm(self.fc(x)))), -1)


class Ops1d(torch.nn.Module):
    """Conv1d with groups and dilation, BatchNorm1d, Sigmoid, MaxPool over (C, H, W),
    Softmax."""
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv1d(4, 6, 3, stride=1, padding=2, dilation=2, groups=2)
        self.bn = torch.nn.BatchNorm1d(6)
        self.fc = torch.nn.Linear(6 * 10, 3)

    def forward(self, x):
        x = torch.sigmoid(self.bn(self.conv(x)))
        return torch.softmax(self.fc(x.reshape(-1, 60)), 1)


def matmul_add():
    rng = np.random.default_rng(3)
    w = numpy_helper.from_array(rng.standard_normal((6, 4)).astype(np.float32), 'fc.weight_t')
    b = numpy_helper.from_array(rng.standard_normal(4).astype(np.float32), 'fc.bias')
    graph = helper.make_graph(
        [helper.make_node('MatMul', ['input', 'fc.weight_t'], ['mm'], name='fc/MatMul'),
         helper.make_node('Add', ['mm', 'fc.bias'], ['pre'], name='fc/Add'),
         helper.make_node('Relu', ['pre'], ['output'], name='relu/Relu')],
        'matmul-add', [helper.make_tensor_value_info('input', TensorProto.FLOAT, ['N', 6])],
        [helper.make_tensor_value_info('output', TensorProto.FLOAT, ['N', 4])], [w, b])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 13)])
    onnx.save(model, os.path.join(OUT, 'matmul-add.onnx'))
    write_case('matmul-add', rng.standard_normal((N, 6)).astype(np.float32))


def external_mlp():
    torch.manual_seed(2)
    model = torch.nn.Sequential(torch.nn.Linear(8, 6), torch.nn.ReLU(), torch.nn.Linear(6, 3))
    path = os.path.join(OUT, 'mlp-external.onnx')
    x = torch.randn(N, 8)
    torch.onnx.export(model.eval(), (x[:1],), path, dynamo=False, opset_version=17,
                      input_names=['input'], output_names=['output'],
                      dynamic_axes={'input': {0: 'N'}, 'output': {0: 'N'}})
    m = onnx.load(path)
    onnx.save(m, path, save_as_external_data=True, all_tensors_to_one_file=True,
              location='mlp-external.data', size_threshold=0)
    write_case('mlp-external', x.numpy())


# Operator models of libonnx-testdata that import maps, and those it must refuse.
TESTDATA_OK = [
    'test_basic_conv_with_padding', 'test_conv_with_strides_padding',
    'test_conv_with_strides_no_padding', 'test_conv_with_autopad_same',
    'test_gemm_default_vector_bias', 'test_gemm_transposeB', 'test_matmul_2d',
    'test_batchnorm_example', 'test_batchnorm_epsilon',
    'test_layer_normalization_3d_axis_negative_1_epsilon', 'test_layer_normalization_2d_axis1',
    'test_relu', 'test_leakyrelu', 'test_sigmoid', 'test_tanh',
    'test_maxpool_2d_default', 'test_maxpool_2d_strides',
    'test_maxpool_2d_dilations', 'test_averagepool_2d_strides',
    'test_globalaveragepool', 'test_flatten_axis1', 'test_flatten_default_axis',
    'test_softmax_default_axis', 'test_logsoftmax_default_axis', 'test_dropout_default',
    'test_softmax_axis_2',
]
TESTDATA_REFUSED = ['test_maxpool_2d_ceil', 'test_gemm_all_attributes', 'test_identity',
                    'test_maxpool_2d_pads']


def from_testdata(case, keep_data=True):
    folder = os.path.join(TESTDATA, case)
    model = onnx.load(os.path.join(folder, 'model.onnx'))
    data = os.path.join(folder, 'test_data_set_0')
    inputs = []
    for i in range(len(model.graph.input)):
        t = onnx.TensorProto()
        with open(os.path.join(data, f'input_{i}.pb'), 'rb') as f:
            t.ParseFromString(f.read())
        inputs.append(numpy_helper.to_array(t))
    # the inputs after the first are the operator's weights
    for vi, arr in list(zip(model.graph.input, inputs))[1:]:
        model.graph.initializer.append(numpy_helper.from_array(arr, vi.name))
    del model.graph.input[1:]
    del model.graph.output[1:]  # LayerNormalization's Mean and InvStdDev: not for a network
    if model.opset_import[0].version < 11:  # GlobalAveragePool's model says opset 1
        model = onnx.version_converter.convert_version(model, 13)
    name = case[len('test_'):].replace('_', '-')
    onnx.save(model, os.path.join(OUT if keep_data else HOSTILE, name + '.onnx'))
    if keep_data:
        t = onnx.TensorProto()
        with open(os.path.join(data, 'output_0.pb'), 'rb') as f:
            t.ParseFromString(f.read())
        write_case(name, inputs[0].astype(np.float32), numpy_helper.to_array(t))


def deep_nesting(levels):
    """A model of If nodes whose then_branch holds an If node ..., `levels` graphs deep (3
    messages a level), written as wire format: protobuf's Python library refuses to build
    messages nested over 100 deep, which is the point of the file."""
    def varint(v):
        out = b''
        while v >= 0x80:
            out += bytes([v & 0x7f | 0x80])
            v >>= 7
        return out + bytes([v])

    def field(number, payload):
        if isinstance(payload, int):
            return varint(number << 3) + varint(payload)
        return varint(number << 3 | 2) + varint(len(payload)) + payload

    graph = field(2, b'level%d' % levels)
    for level in range(levels - 1, 0, -1):
        attr = field(1, b'then_branch') + field(20, 5) + field(6, graph)  # type GRAPH
        node = (field(1, b'cond') + field(2, b'out') + field(3, b'if%d' % level) +
                field(4, b'If') + field(5, attr))
        graph = field(1, node) + field(2, b'level%d' % level)
    return field(1, 8) + field(8, field(1, b'') + field(2, 17)) + field(7, graph)


def hostile():
    """Models import must refuse; each is also a seed of the fuzz corpus."""
    def io(shape=('N', 4)):
        return ([helper.make_tensor_value_info('input', TensorProto.FLOAT, list(shape))],
                [helper.make_tensor_value_info('output', TensorProto.FLOAT, ['N', 2])])

    def save(name, nodes, inits=(), shape=('N', 4), opset=17, check=False):
        i, o = io(shape)
        m = helper.make_model(helper.make_graph(nodes, name, i, o, list(inits)),
                              opset_imports=[helper.make_opsetid('', opset)])
        onnx.save(m, os.path.join(HOSTILE, name + '.onnx'))

    w = numpy_helper.from_array(np.ones((2, 4), np.float32), 'fc.weight')
    gemm = helper.make_node('Gemm', ['input', 'fc.weight'], ['output'], transB=1, name='fc')
    huge = TensorProto(name='fc.weight', data_type=TensorProto.FLOAT, dims=[2, 1 << 40])
    save('huge-dims', [gemm], [huge])
    save('huge-input', [gemm], [w], shape=('N', 1 << 40))
    lying = TensorProto(name='fc.weight', data_type=TensorProto.FLOAT, dims=[2, 4],
                        raw_data=b'\0' * 12)
    save('lying-size', [gemm], [lying])
    save('missing-initializer', [gemm])
    cycle = [helper.make_node('Relu', ['b'], ['a'], name='first'),
             helper.make_node('Add', ['input', 'a'], ['b'], name='second'), gemm]
    save('cycle', cycle, [w])
    for name, loc in (('external-parent', '../secret.bin'), ('external-absolute', '/etc/passwd')):
        t = TensorProto(name='fc.weight', data_type=TensorProto.FLOAT, dims=[2, 4],
                        data_location=TensorProto.EXTERNAL)
        for k, v in (('location', loc), ('offset', '0'), ('length', '32')):
            e = t.external_data.add()
            e.key, e.value = k, v
        save(name, [gemm], [t])
    save('unknown-op', [helper.make_node('Einsum', ['input'], ['output'], equation='ij->ij',
                                         name='mystery')])
    save('old-opset', [gemm], [w], opset=7)
    with open(os.path.join(HOSTILE, 'deep-nesting.onnx'), 'wb') as f:
        f.write(deep_nesting(40))
    with open(os.path.join(OUT, 'mlp.onnx'), 'rb') as f:
        whole = f.read()
    with open(os.path.join(HOSTILE, 'truncated.onnx'), 'wb') as f:
        f.write(whole[:len(whole) // 2])
    os.makedirs(CORPUS, exist_ok=True)
    for f in sorted(os.listdir(HOSTILE)):
        shutil.copy(os.path.join(HOSTILE, f), os.path.join(CORPUS, f))
    for f in ('matmul-add.onnx', 'ops-1d.onnx', 'resnet-small.onnx'):
        shutil.copy(os.path.join(OUT, f), os.path.join(CORPUS, f))


def main():
    os.makedirs(HOSTILE, exist_ok=True)
    torch.manual_seed(0)
    export('mlp', torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 16),
                                      torch.nn.ReLU(), torch.nn.Linear(16, 10)), (1, 28, 28))
    torch.manual_seed(0)
    export('mnist-cnn', Cnn(), (1, 28, 28))
    torch.manual_seed(0)
    export('resnet-small', ResNet(), (1, 28, 28))
    torch.manual_seed(0)
    export('ops-2d', Ops2d(), (2, 8, 8))
    torch.manual_seed(0)
    export('ops-1d', Ops1d(), (4, 10))
    matmul_add()
    external_mlp()
    for case in TESTDATA_OK:
        from_testdata(case)
    for case in TESTDATA_REFUSED:
        from_testdata(case, keep_data=False)
    hostile()
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(OUT) for f in fs)
    print(f'wrote {OUT}: {total // 1024} KB', file=sys.stderr)


if __name__ == '__main__':
    main()
