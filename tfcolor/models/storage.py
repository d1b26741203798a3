"""Half-precision storage of a saved network: half the file, the same network.

A ``.keras`` file is a zip of ``config.json``, ``metadata.json`` and ``model.weights.h5``.
``save_half`` rewrites the last with every float32 array stored as float16 (rounded to the
nearest) and copies the rest, every member deflated (Keras stores them uncompressed: the
float16 weights of the shipped generator deflate by a tenth, its config by 97 %; loading reads
them alike). Keras loads it as usual (``keras.models.load_model``,
``tfcolor.models.load_generator_file``): the variables stay float32 and hold the rounded values,
so the network computes in float32 as before, with weights rounded to 11 significant bits (a
relative change of at most 2**-11; under 3e-8 in absolute terms for weights smaller than
6.1e-5, float16's subnormals). The shipped model is stored so (saved_models/).
"""

import io
import zipfile

import numpy as np

WEIGHTS = "model.weights.h5"  # the weights' member of a .keras zip (Keras's own name)
HALF_MAX = float(np.finfo(np.float16).max)


def _halved_weights(data):
    """The bytes of a Keras weights file (h5) with its float32 datasets stored as float16."""
    import h5py

    out = io.BytesIO()
    with h5py.File(io.BytesIO(data), "r") as source, h5py.File(out, "w") as target:
        def copy(name, item):
            if isinstance(item, h5py.Group):
                group = target.require_group(name)
                group.attrs.update(item.attrs)
                return
            value = item[()]
            if value.dtype == np.float32:
                peak = float(np.abs(value).max()) if value.size else 0.0
                if not np.isfinite(peak) or peak > HALF_MAX:
                    raise ValueError(f"{name}: a weight of magnitude {peak:g} does not fit float16 "
                                     f"(at most {HALF_MAX:g}); keep this network in float32")
                value = value.astype(np.float16)
            target.create_dataset(name, data=value)
            target[name].attrs.update(item.attrs)

        target.attrs.update(source.attrs)
        source.visititems(copy)
    return out.getvalue()


def save_half(source, target):
    """Writes ``target``: the ``.keras`` file ``source`` with its float32 weights stored as
    float16, deflated. A file written so already gives the same weights again (float16 stays).

    Raises ValueError for a weight beyond float16's range (65504) rather than storing infinity.
    """
    with zipfile.ZipFile(source) as zin:
        members = [(info, zin.read(info.filename)) for info in zin.infolist()]
    if WEIGHTS not in {info.filename for info, _ in members}:
        raise ValueError(f"{source}: not a .keras file (no {WEIGHTS} inside)")
    with zipfile.ZipFile(target, "w") as zout:
        for info, data in members:
            zout.writestr(info, _halved_weights(data) if info.filename == WEIGHTS else data,
                          compress_type=zipfile.ZIP_DEFLATED)
    return target


def stored_dtypes(path):
    """The dtypes the weights of the ``.keras`` file ``path`` are stored in, as a set of names."""
    import h5py

    with zipfile.ZipFile(path) as z, h5py.File(io.BytesIO(z.read(WEIGHTS)), "r") as weights:
        found = set()
        weights.visititems(lambda name, item: found.add(item.dtype.name) if isinstance(item, h5py.Dataset) else None)
    return found


def holds_half(model):
    """True when every weight of ``model`` is a float16 value (as after loading a file written
    by save_half): float16 storage of it, in any format, then loses nothing."""
    for weight in model.weights:
        value = np.asarray(weight.numpy())
        if value.dtype == np.float32 and not np.array_equal(value.astype(np.float16).astype(np.float32), value):
            return False
    return True
