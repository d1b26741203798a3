"""bench/pretrained.py: the legacy torch.save reader and the EfficientNet-Lite0 name and layout
mapping. The real file (PyPI, a download) is checked by the converter itself: its classifier
must name scikit-image's cat a cat."""

import collections
import pickle
import struct
import sys
import types

import numpy as np
import pytest

from bench import pretrained


class _Storage:  # what torch.FloatStorage / LongStorage are to pickle: a global, by name
    pass


def _write_legacy_torch_file(path, storages, tensors, monkeypatch):
    """torch.save's legacy format, written without PyTorch: ``storages`` {key: flat array} and
    ``tensors`` {name: (storage key, offset, shape, strides)}, each a strided view into one."""
    torch, utils = types.ModuleType("torch"), types.ModuleType("torch._utils")

    def _rebuild_tensor_v2(*args):
        raise AssertionError("only pickled here")

    utils._rebuild_tensor_v2 = _rebuild_tensor_v2
    _rebuild_tensor_v2.__module__, _rebuild_tensor_v2.__qualname__ = "torch._utils", "_rebuild_tensor_v2"
    for name in ("FloatStorage", "LongStorage"):
        cls = type(name, (_Storage,), {"__module__": "torch"})
        setattr(torch, name, cls)
    torch._utils = utils
    monkeypatch.setitem(sys.modules, "torch", torch)
    monkeypatch.setitem(sys.modules, "torch._utils", utils)

    class Ref:
        def __init__(self, key, offset, shape, strides):
            self.args = (("__storage__", key), offset, shape, strides, False, {})

        def __reduce__(self):
            return utils._rebuild_tensor_v2, self.args

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, tuple) and obj and obj[0] == "__storage__":
                data = storages[obj[1]]
                kind = torch.LongStorage if data.dtype == np.int64 else torch.FloatStorage
                return ("storage", kind, obj[1], "cpu", data.size, None)
            return None

    with open(path, "wb") as f:
        for header in (0x1950A86A20F9469CFC6C, 1001, {"little_endian": True}):
            pickle.dump(header, f, protocol=2)
        Pickler(f, protocol=2).dump(collections.OrderedDict((n, Ref(*t)) for n, t in tensors.items()))
        pickle.dump(list(storages), f, protocol=2)
        for data in storages.values():
            f.write(struct.pack("<q", data.size))
            f.write(data.astype(data.dtype.newbyteorder("<")).tobytes())


def test_the_reader_rebuilds_strided_views_offsets_and_scalars(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    shared = rng.normal(size=40).astype(np.float32)
    weight = rng.normal(size=(3, 4)).astype(np.float32)
    path = tmp_path / "state.pth"
    _write_legacy_torch_file(path, {"7": shared, "9": weight.ravel(), "11": np.array([12345], np.int64)}, {
        "a.weight": ("9", 0, (3, 4), (4, 1)),
        "a.weight_t": ("9", 0, (4, 3), (1, 4)),  # a transposed view: not contiguous
        "b.bias": ("7", 10, (5,), (1,)),  # an offset into a shared storage
        "b.every_other": ("7", 1, (2, 3), (12, 2)),
        "bn.num_batches_tracked": ("11", 0, (), ()),
    }, monkeypatch)
    state = pretrained.read_torch_state_dict(path)
    assert list(state) == ["a.weight", "a.weight_t", "b.bias", "b.every_other", "bn.num_batches_tracked"]
    np.testing.assert_array_equal(state["a.weight"], weight)
    np.testing.assert_array_equal(state["a.weight_t"], weight.T)
    np.testing.assert_array_equal(state["b.bias"], shared[10:15])
    np.testing.assert_array_equal(state["b.every_other"], shared[1:].reshape(-1)[[0, 2, 4, 12, 14, 16]].reshape(2, 3))
    assert state["bn.num_batches_tracked"].shape == () and state["bn.num_batches_tracked"] == 12345


def test_the_reader_refuses_anything_but_tensors(tmp_path):
    path = tmp_path / "evil.pth"
    with open(path, "wb") as f:
        for header in (1, 1001, {}):
            pickle.dump(header, f, protocol=2)
        pickle.dump({"x": print}, f, protocol=2)  # a global that is no tensor
    with pytest.raises(pickle.UnpicklingError, match="unexpected .*print in a state dict"):
        pretrained.read_torch_state_dict(path)


def _torch_layout_state(trunk, rng):
    """A state dict in EfficientNet-PyTorch's names and layouts, random values, for ``trunk``."""
    state = {}
    for layer in trunk.layers:
        for w in layer.weights:
            state.setdefault(layer.name, []).append(rng.normal(0, 0.3, w.shape).astype(np.float32))
    out = {}
    to_torch_conv = lambda k: k.transpose(3, 2, 0, 1)  # (h, w, in, out) -> (out, in, h, w)
    to_torch_dw = lambda k: k.transpose(2, 3, 0, 1)  # (h, w, c, 1) -> (c, 1, h, w)

    def bn(prefix, arrays):
        gamma, beta, mean, var = arrays
        out.update({f"{prefix}.weight": gamma, f"{prefix}.bias": beta, f"{prefix}.running_mean": mean,
                    f"{prefix}.running_var": np.abs(var) + 0.5, f"{prefix}.num_batches_tracked": np.int64(3)})

    out["_conv_stem.weight"] = to_torch_conv(state["stem_conv"][0])
    bn("_bn0", state["stem_bn"])
    out["_conv_head.weight"] = to_torch_conv(state["top_conv"][0])
    bn("_bn1", state["top_bn"])
    for i in range(16):
        p = f"_blocks.{i}."
        if f"block{i}_expand_conv" in state:
            out[p + "_expand_conv.weight"] = to_torch_conv(state[f"block{i}_expand_conv"][0])
            bn(p + "_bn0", state[f"block{i}_expand_bn"])
        out[p + "_depthwise_conv.weight"] = to_torch_dw(state[f"block{i}_dwconv"][0])
        bn(p + "_bn1", state[f"block{i}_dw_bn"])
        out[p + "_project_conv.weight"] = to_torch_conv(state[f"block{i}_project_conv"][0])
        bn(p + "_bn2", state[f"block{i}_project_bn"])
    return out


def _same_padded(x, kernel, stride):
    """TensorFlow's "same" padding of [H, W, C] for a kernel and stride (more at the end)."""
    pads = []
    for size in x.shape[:2]:
        total = max((-(-size // stride) - 1) * stride + kernel - size, 0)
        pads.append((total // 2, total - total // 2))
    return np.pad(x, [*pads, (0, 0)])


def test_lite0_weights_map_to_every_layer_in_pytorch_conventions():
    """Every weighted layer of the Keras Lite0 gets its array; a convolution and a depthwise
    convolution computed by hand from the PyTorch layouts (out, in, h, w) and (c, 1, h, w),
    with TensorFlow's "same" padding, equal the Keras layers' outputs."""
    import keras

    from tfcolor.models.efficientnet_lite import efficientnet_lite0

    trunk = efficientnet_lite0((32, 32, 3))
    rng = np.random.default_rng(0)
    state = _torch_layout_state(trunk, rng)
    arrays = pretrained.lite0_arrays(state)
    # stem, head, 15 expansions, 16 x (depthwise, projection); conv and norm each
    assert len(arrays) == sum(1 for layer in trunk.layers if layer.weights) == 2 + 2 + 2 * 15 + 4 * 16
    pretrained.set_arrays(trunk, arrays)
    np.testing.assert_array_equal(trunk.get_layer("block4_dw_bn").moving_variance.numpy(),
                                  state["_blocks.4._bn1.running_var"])

    x = rng.uniform(-1, 1, (1, 32, 32, 3)).astype(np.float32)
    probe = keras.Model(trunk.input, [trunk.get_layer("stem_conv").output, trunk.get_layer("stem_activation").output,
                                      trunk.get_layer("block0_dwconv").output])
    stem, stem_act, dw = (t.numpy()[0] for t in probe(x))
    w = state["_conv_stem.weight"]  # (32, 3, 3, 3)
    padded = _same_padded(x[0], 3, 2)
    expected = np.einsum("ijc,ocij->o", padded[2 * 5:2 * 5 + 3, 2 * 7:2 * 7 + 3], w)  # output pixel (5, 7)
    np.testing.assert_allclose(stem[5, 7], expected, rtol=1e-4, atol=1e-4)
    d = state["_blocks.0._depthwise_conv.weight"]  # (32, 1, 3, 3), stride 1
    padded = _same_padded(stem_act, 3, 1)
    expected = np.einsum("ijc,cij->c", padded[3:6, 9:12], d[:, 0])  # output pixel (3, 9)
    np.testing.assert_allclose(dw[3, 9], expected, rtol=1e-4, atol=1e-4)

    del arrays["block7_dw_bn"]
    with pytest.raises(ValueError, match="block7_dw_bn"):
        pretrained.set_arrays(trunk, arrays)
