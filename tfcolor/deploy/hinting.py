"""User colour hints at inference: what a colouriser does with a photo's hints, for every front end.

Two engines behind one call (:func:`hinted`):

* a hint generator (trained with ``--hints``): the hints, scaled to the size the network sees,
  are channels of its input (tfcolor.models.hint_inputs); one network call, as without hints.
* any other model (an automatic generator, a SavedModel, a TFLite file): Levin et al. 2004's
  propagation of the hints (tfcolor.core.levin), solved at :data:`PROPAGATION_SIZE` px on the
  long side, pulled towards the model's own colours by :data:`PRIOR_WEIGHT` so that far from every
  hint the model's guess stays; the a*b* are resized back and joined with the photo's own L.

Hint files (tfcolor.core.hints) are found per photo by :func:`hint_file_for`.
"""

import functools
import os

import numpy as np

from tfcolor.core import colornp, fs, hints as hint_format, levin  # numpy alone: no TensorFlow import

# Long side (px) of Levin's solve. 160 px: within 0.4 dB of 256 px from 1 to 50 points on both
# photo sets of bench.hints, and `colorize --hints` on a 1024 px photo 0.90 s against 1.35 s
# whole process with scipy's solver (bench/README.md, hints; numpy's now: 1.02-1.12x automatic).
PROPAGATION_SIZE = 160
# The pull towards the model's colours on unhinted pixels (core.levin). 0, Levin alone: from one
# point on it beat every pull measured (1e-5 to 1e-3) on both photo sets (bench/README.md, hints).
PRIOR_WEIGHT = 0.0
SCRIBBLE_SUFFIX = "_scribble.png"


def hint_file_for(hints_path, photo_name):
    """The hint file of a photo: ``hints_path`` itself when it is a file; in a folder
    ``<photo stem>.json`` or ``<photo stem>_scribble.png`` (the photo's path inside its input
    folder kept); None when the photo has none. Any filesystem Beam reads (tfcolor.core.fs)."""
    if not hints_path:
        return None
    if fs.is_file(hints_path):
        return hints_path
    stem = os.path.splitext(photo_name)[0]
    for candidate in (stem + ".json", stem + SCRIBBLE_SUFFIX):
        path = fs.join(hints_path, candidate)
        if fs.is_file(path):
            return path
    return None


def load_for_photo(path, height, width):
    """A hint file checked against a ``width`` x ``height`` photo (as displayed); HintError
    names the file and the problem."""
    hints = hint_format.check_fits(hint_format.load_hints(path), height, width, path)
    if hints.reference:
        from tfcolor.core.images import SkipImage

        try:
            reference_ab(hints.reference)
        except (OSError, ValueError, SkipImage) as e:
            raise hint_format.HintError(f"{path}: reference photo {hints.reference}: {e}") from None
    return hints


def load_for_clip(path, height, width):
    """A clip's hint file (points, each with the ``frame`` it is placed on) checked against its
    frame size; HintError names the file and the problem."""
    hints = load_for_photo(path, height, width)
    if hints.scribble is not None:
        raise hint_format.HintError(f"{path}: a clip takes point hints (JSON with \"frame\" numbers), not a "
                                    f"scribble")
    return hints


def working_size(height, width, long_side=PROPAGATION_SIZE):
    """(h, w) with the long side ``long_side`` (never larger than the photo)."""
    scale = min(1.0, long_side / max(height, width))
    return max(1, int(round(height * scale))), max(1, int(round(width * scale)))


def _resize(array, height, width):
    """Area averaging down, bilinear up (as tf.image.resize's "area" and "bilinear")."""
    if height <= array.shape[0]:
        return colornp.resize_area(array, height, width)
    return colornp.resize_bilinear(array, height, width)


def solve_inputs(l_full, hints, size=PROPAGATION_SIZE, points=None):
    """What Levin's solve reads for a photo's L (``[H, W, 1]``, natural units), at ``size`` px on
    the long side: the gray ``[h, w]`` (L / 100), the hints' normalised a*b* ``[h, w, 2]`` and
    their mask ``[h, w, 1]``."""
    height, width = l_full.shape[:2]
    h, w = working_size(height, width, size)
    hint_ab, mask = hint_format.hint_map(hints, h, w, photo_size=(height, width), points=points)
    return _resize(l_full / 100.0, h, w)[..., 0], hint_ab, mask


def solve_colours(rgb, height, width):
    """A colourisation's (uint8 RGB) normalised a*b* at the solve's size ``[height, width, 2]``."""
    return _resize(hint_format.lab_of_rgb(rgb)[..., 1:] / colornp.AB_SCALE, height, width)


def with_ab(l_full, ab):
    """uint8 RGB at the photo's size: its L (``[H, W, 1]``) joined with normalised a*b* of any
    size (``[h, w, 2]``), resized to it."""
    return _join(l_full, _resize(ab, *l_full.shape[:2]) * colornp.AB_SCALE)


def propagate(rgb, hints, model_rgb=None, size=PROPAGATION_SIZE, prior_weight=PRIOR_WEIGHT, points=None,
              refine=None):
    """Levin et al. 2004's colourisation of ``rgb`` (uint8 [H, W, 3]) from ``hints``, optionally
    pulled towards ``model_rgb`` (a model's colourisation of the same photo, or a callable giving
    it: called only when needed) where there are none; unpulled, then corrected by ``refine``
    when given (the learned refiner, tfcolor.models.hint_refiner: a callable float32 [1, S, S, 6]
    -> [1, S, S, 2], S its SIZE = PROPAGATION_SIZE). Returns uint8 [H, W, 3] with the photo's
    own L; without any hint, the model's colours (or gray)."""
    l_full = colornp.lightness(np.asarray(rgb, np.uint8))  # (L alone: a*b* come from the hints)
    gray, hint_ab, mask = solve_inputs(l_full, hints, size, points)

    def model():
        return model_rgb() if callable(model_rgb) else model_rgb

    if not mask.any():
        found = model()
        return found if found is not None else with_ab(l_full, np.zeros((1, 1, 2)))
    prior = None
    if model_rgb is not None and prior_weight > 0:
        prior = solve_colours(model(), *gray.shape)
    ab = levin.propagate(gray, hint_ab, mask[..., 0], prior, prior_weight)
    if refine is not None and prior is None:
        ab = refined(refine, gray, ab, hint_ab, mask)
    return with_ab(l_full, ab)


def refined(refine, gray, ab, hint_ab, mask):
    """Levin's a*b* ``ab`` [h, w, 2] of a photo's working-size ``gray``, hints and mask, corrected
    by the refiner ``refine`` (see :func:`propagate`)."""
    from tfcolor.models import hint_refiner

    h, w = gray.shape
    if max(h, w) > hint_refiner.SIZE:
        raise ValueError(f"the hint refiner takes a solve of at most {hint_refiner.SIZE} px, not {max(h, w)}")
    out = np.asarray(refine(hint_refiner.square_input(gray, ab, hint_ab, mask)[None]))
    return out[0, :h, :w].astype(np.float64)


def _join(l_full, ab_full):
    return colornp.lab_to_rgb_uint8(np.concatenate([l_full, ab_full], -1).astype(np.float32))


def hint_channels(hints, size, photo_height, photo_width, points=None):
    """A hint generator's hint channels ``[size, size, 3]`` for a photo of that size (the
    network sees the photo squeezed to size x size)."""
    ab, mask = hint_format.hint_map(hints, size, size, photo_size=(photo_height, photo_width), points=points)
    return np.concatenate([ab, mask], -1)


@functools.lru_cache(maxsize=4)
def reference_pixels(path):
    """A reference photo's pixels, uint8 [N, 3], its long side at most PROPAGATION_SIZE (what an
    exported model's hints signature takes as ``reference``); read once for all the photos and
    frames that name it."""
    from tfcolor.core.images import Item, load_rgb

    rgb, _ = load_rgb(Item(key=path, path=path))
    h, w = working_size(*rgb.shape[:2])
    small = np.round(np.clip(_resize(rgb.astype(np.float32) / 255.0, h, w), 0.0, 1.0) * 255.0).astype(np.uint8)
    pixels = small.reshape(-1, 3)
    pixels.flags.writeable = False  # shared by the cache
    return pixels


@functools.lru_cache(maxsize=4)
def reference_ab(path):
    """The a*b* of a reference photo's pixels (:func:`reference_pixels`), [N, 2]; computed once
    for all the photos and frames that name it."""
    ab = hint_format.lab_of_rgb(reference_pixels(path)[None])[0, :, 1:]
    ab.flags.writeable = False  # shared by the cache
    return ab


REFERENCE_MOST = 2.0  # a reference photo scales the colours' spread by at most this, or its inverse


def like_reference(rgb, colours, ab_reference, most=REFERENCE_MOST):
    """``colours`` (uint8 [H, W, 3], a colourisation of ``rgb``) moved to a reference photo's
    colours: per channel, its a* and b* shifted and scaled to the reference's mean and spread
    (Reinhard et al. 2001's transfer, on a*b* alone; the scale kept within 1/``most`` and
    ``most``); the photo keeps its L."""
    lab = hint_format.lab_of_rgb(colours)
    ab = lab[..., 1:].reshape(-1, 2).astype(np.float64)
    mean, spread = ab.mean(0), ab.std(0)
    ref_mean, ref_spread = ab_reference.mean(0), ab_reference.std(0)
    scale = np.clip(ref_spread / np.maximum(spread, 1e-3), 1.0 / most, most)
    moved = (ab - mean) * scale + ref_mean
    return _join(colornp.lightness(np.asarray(rgb, np.uint8)), moved.reshape(*rgb.shape[:2], 2))


REFERENCE_PRIOR_WEIGHT = 1e-4  # with a reference photo, Levin's pull towards its colours (core.levin)


def hinted(colorize, hints, rgb, network=None, points=None, **propagation):
    """``rgb`` coloured with ``hints`` by the engine the colouriser has: ``network(rgb, hints,
    points)`` for a hint generator (a Keras run, or an exported model with a hints signature),
    else Levin's propagation around ``colorize(rgb)`` (``propagation``: :func:`propagate`'s
    arguments, such as the model's ``refine``). ``points``: these instead of the hints'
    own points (a clip's points on one frame). A reference photo moves the colours to its own
    (:func:`like_reference`); points and scribbles then correct them (for a model without hint
    inputs by Levin's propagation, pulled towards the reference-like colours away from them)."""
    if network is not None:
        out = network(rgb, hints, points)
        return like_reference(rgb, out, reference_ab(hints.reference)) if hints.reference else out
    if hints.reference:
        propagation.setdefault("prior_weight", REFERENCE_PRIOR_WEIGHT)
        return propagate(rgb, hints, like_reference(rgb, colorize(rgb), reference_ab(hints.reference)),
                         points=points, **propagation)
    return propagate(rgb, hints, lambda: colorize(rgb), points=points, **propagation)


def hint_rows(hints, points=None):
    """The [N, 6] rows of an exported model's hints signature: points and scribble pixels."""
    return hint_format.points_array(hints.all_points(points))
