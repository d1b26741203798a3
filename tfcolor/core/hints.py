"""User colour hints: the one format every front end reads, and the hints training simulates.

A hint sets the a*b* of some pixels; the photo keeps its own L everywhere (Zhang et al. 2017,
"Real-Time User-Guided Image Colorization with Learned Deep Priors"; Levin et al. 2004).

The format, a JSON file (or the same object in Python and in the web page)::

    {"points": [{"x": 412, "y": 230, "color": "#4a7fb5", "radius": 2, "frame": 0}],
     "reference": "optional/photo.jpg"}

``x``, ``y``: pixels of the photo as displayed (EXIF rotation applied), origin top left,
fractions allowed; ``color``: ``#rrggbb`` or ``#rgb`` (only its a*b* count); ``radius``
(optional, default 0): the hint covers the square of pixels within ``radius`` of the point;
``frame`` (clips only): the frame the point was placed on. ``reference``: a photo whose colours
the result should take, relative to the JSON file's folder. A scribble is a PNG of the photo's
size whose non-transparent pixels (alpha > 0) are hints of their own colour: paint on a
transparent layer over the photo in any editor.

Dense form, what the networks and the propagation take: a hint map ``ab`` (normalised a*b*,
zero where there is no hint) and a ``mask`` (1 where a hint is), :func:`hint_map`.
"""

import dataclasses
import json
import os

import numpy as np

from tfcolor.core import colornp  # TensorFlow (tfcolor.core.color) only where a function needs it

# Simulated hints of training (Zhang et al. 2017): points geometric with p = 1/8, a share of
# photos with none, centres N(1/2, 1/4) of each side, square patches of 1-9 px revealing the
# patch's mean a*b*.
GEOMETRIC_P = 1.0 / 8.0
NO_HINT_SHARE = 0.25
MAX_POINTS = 32
PATCH_SIZES = (1, 9)  # smallest and largest side, in pixels at the network's size
# The evaluation protocol (Zhang et al.'s test): centres N(1/2, 1/4) of each side, clipped, each
# revealing the true mean a*b* of the 9x9 patch around it.
PROTOCOL_PATCH = 9
HINT_CHANNELS = 3  # normalised a, b and the mask, after L in a hint generator's input


class HintError(ValueError):
    """A hint file or object that cannot be used, explained for the user."""


@dataclasses.dataclass(frozen=True)
class Point:
    """One hint: centre (x, y) in photo pixels, its a*b* in natural units, half side ``radius``."""

    x: float
    y: float
    ab: tuple
    radius: float = 0.0
    frame: int = None
    color: str = ""  # the colour as given (#rrggbb), kept for saving


@dataclasses.dataclass(frozen=True)
class Hints:
    """A photo's hints: points, a scribble (uint8 RGBA [H, W, 4]) and/or a reference photo path."""

    points: tuple = ()
    scribble: np.ndarray = None
    reference: str = None

    def at_frame(self, frame):
        """The points placed on ``frame`` (those without a frame count as frame 0)."""
        return tuple(p for p in self.points if (p.frame or 0) == frame)

    def all_points(self, points=None):
        """``points`` (default: the hints' own) and every scribble pixel as a point of its colour
        (radius 0): the rows an exported model's hint signature takes."""
        found = list(self.points if points is None else points)
        if self.scribble is not None:
            ys, xs = np.nonzero(self.scribble[..., 3] > 0)
            for y, x, rgb in zip(ys, xs, self.scribble[ys, xs, :3]):
                found.append(Point(float(x), float(y), (0.0, 0.0), color="#%02x%02x%02x" % tuple(int(v) for v in rgb)))
        return tuple(found)

    def to_json(self):
        """The JSON object of these hints (points and reference; a scribble stays a PNG)."""
        points = []
        for p in self.points:
            entry = {"x": p.x, "y": p.y, "color": p.color or ab_to_hex(p.ab)}
            if p.radius:
                entry["radius"] = p.radius
            if p.frame is not None:
                entry["frame"] = p.frame
            points.append(entry)
        return {"points": points, **({"reference": self.reference} if self.reference else {})}


def lab_of_rgb(rgb):
    """uint8-valued RGB ``[..., 3]`` -> Lab ``[..., 3]`` (natural units), tfcolor's conversion
    (a uint8 array through its table of linearised codes, not a power per pixel)."""
    rgb = np.asarray(rgb)
    return colornp.rgb_to_lab(rgb if rgb.dtype == np.uint8 else rgb.astype(np.float32) / 255.0)


def parse_color(text, where="color"):
    """``#rrggbb`` / ``#rgb`` (or ``rrggbb``) -> (r, g, b) ints; HintError names ``where``."""
    if not isinstance(text, str):
        raise HintError(f"{where}: a colour must be a string like \"#4a7fb5\", got {text!r}")
    value = text.strip().lstrip("#")
    if len(value) == 3:
        value = "".join(c * 2 for c in value)
    try:
        if len(value) != 6:
            raise ValueError
        return tuple(int(value[i:i + 2], 16) for i in (0, 2, 4))
    except ValueError:
        raise HintError(f"{where}: {text!r} is not a colour; use #rrggbb, e.g. \"#4a7fb5\"") from None


def ab_to_hex(ab, lightness=60.0):
    """A hex colour with these a*b* (at ``lightness``), for saving hints given as a*b*."""
    from tfcolor.core import color

    rgb = color.lab_to_rgb(np.array([lightness, *ab], np.float32)).numpy()
    return "#" + "".join(f"{int(round(float(c) * 255)):02x}" for c in rgb)


def _number(entry, key, where, default=None):
    value = entry.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
        raise HintError(f"{where}: \"{key}\" must be a number, got {value!r}")
    return float(value)


def hints_from_json(obj, source="hints", base_dir=""):
    """The JSON object of the format above -> :class:`Hints`. ``source`` names it in errors;
    a relative ``reference`` is taken from ``base_dir``."""
    if not isinstance(obj, dict):
        raise HintError(f"{source}: expected a JSON object with \"points\", got {type(obj).__name__}")
    unknown = sorted(set(obj) - {"points", "reference"})
    if unknown:
        raise HintError(f"{source}: unknown key(s) {', '.join(unknown)} (expected \"points\", \"reference\")")
    entries = obj.get("points", [])
    if not isinstance(entries, list):
        raise HintError(f"{source}: \"points\" must be a list")
    points = []
    for i, entry in enumerate(entries):
        where = f"{source}: point {i + 1}"
        if not isinstance(entry, dict):
            raise HintError(f"{where}: expected an object like {{\"x\": 10, \"y\": 20, \"color\": \"#4a7fb5\"}}")
        missing = [k for k in ("x", "y", "color") if k not in entry]
        if missing:
            raise HintError(f"{where}: missing {', '.join(missing)}")
        rgb = parse_color(entry["color"], where)
        radius = _number(entry, "radius", where, 0.0)
        if radius < 0:
            raise HintError(f"{where}: \"radius\" must be >= 0, got {radius:g}")
        frame = entry.get("frame")
        if frame is not None and (isinstance(frame, bool) or not isinstance(frame, int) or frame < 0):
            raise HintError(f"{where}: \"frame\" must be a frame number >= 0, got {frame!r}")
        ab = tuple(float(v) for v in lab_of_rgb(rgb)[1:])
        points.append(Point(_number(entry, "x", where), _number(entry, "y", where), ab, radius, frame,
                            "#%02x%02x%02x" % rgb))
    reference = obj.get("reference")
    if reference is not None:
        if not isinstance(reference, str) or not reference:
            raise HintError(f"{source}: \"reference\" must be a photo's path")
        reference = os.path.join(base_dir, os.path.expanduser(reference))
        if not os.path.isfile(reference):
            raise HintError(f"{source}: reference photo {reference} not found")
    return Hints(tuple(points), None, reference)


def load_hints(path):
    """A hint file -> :class:`Hints`: JSON (the format above) or a scribble PNG (any image with
    transparency). Errors are HintError naming the file."""
    if not os.path.isfile(path):
        raise HintError(f"{path}: hint file not found")
    if path.lower().endswith(".json"):
        try:
            with open(path, encoding="utf-8") as f:
                obj = json.load(f)
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise HintError(f"{path}: not valid JSON ({e})") from None
        return hints_from_json(obj, path, os.path.dirname(path))
    return Hints(scribble=read_scribble(path))


def read_scribble(path):
    """A scribble image -> uint8 RGBA [H, W, 4]; HintError when it has no transparency (every
    pixel would be a hint) or is no image."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            if "A" not in image.getbands() and "transparency" not in image.info:
                raise HintError(f"{path}: a scribble needs transparency: paint the hints on a transparent "
                                f"layer and save it as PNG")
            return np.asarray(image.convert("RGBA"), np.uint8)
    except (UnidentifiedImageError, OSError) as e:
        raise HintError(f"{path}: not a readable image ({e})") from None


def check_fits(hints, height, width, source="hints"):
    """HintError unless every point lies inside a ``width`` x ``height`` photo and a scribble
    has the photo's size."""
    for i, p in enumerate(hints.points):
        if not (0 <= p.x <= width and 0 <= p.y <= height):
            raise HintError(f"{source}: point {i + 1} at ({p.x:g}, {p.y:g}) is outside the {width}x{height} photo")
    if hints.scribble is not None and hints.scribble.shape[:2] != (height, width):
        h, w = hints.scribble.shape[:2]
        raise HintError(f"{source}: the scribble is {w}x{h}, the photo {width}x{height}; they must match")
    return hints


def point_box(p, height, width, scale_y=1.0, scale_x=1.0):
    """The pixel rows and columns ``[top, bottom), [left, right)`` a point covers in an image of
    ``height`` x ``width`` whose pixels are ``scale`` photo pixels: at least its own pixel."""
    cy, cx = p.y * scale_y, p.x * scale_x
    ry, rx = p.radius * scale_y, p.radius * scale_x
    top = int(np.clip(np.floor(cy - ry), 0, height - 1))
    left = int(np.clip(np.floor(cx - rx), 0, width - 1))
    bottom = int(np.clip(np.floor(cy + ry) + 1, top + 1, height))
    right = int(np.clip(np.floor(cx + rx) + 1, left + 1, width))
    return top, bottom, left, right


def hint_map(hints, height, width, photo_size=None, points=None):
    """Dense hints at ``height`` x ``width``: normalised a*b* ``[H, W, 2]`` (0 where no hint) and
    the mask ``[H, W, 1]``, float32.

    ``photo_size`` (height, width): the size the points' pixels and the scribble refer to, when
    the map is made at another size (a network's render size): points scale with it, and a
    scribble's hint pixels are averaged into the map's pixels. ``points``: these instead of
    ``hints.points`` (a clip's points of one frame)."""
    photo_h, photo_w = photo_size or (height, width)
    sy, sx = height / photo_h, width / photo_w
    total = np.zeros((height, width, 2), np.float64)
    count = np.zeros((height, width), np.float64)
    for p in hints.points if points is None else points:
        top, bottom, left, right = point_box(p, height, width, sy, sx)
        total[top:bottom, left:right] += p.ab
        count[top:bottom, left:right] += 1
    if hints.scribble is not None:
        ys, xs = np.nonzero(hints.scribble[..., 3] > 0)
        if len(ys):
            ab = lab_of_rgb(hints.scribble[ys, xs, :3])[:, 1:]
            rows = np.minimum((ys * sy).astype(np.int64), height - 1)
            cols = np.minimum((xs * sx).astype(np.int64), width - 1)
            np.add.at(total, (rows, cols), ab)
            np.add.at(count, (rows, cols), 1)
    mask = count > 0
    ab = np.where(mask[..., None], total / np.maximum(count, 1)[..., None], 0.0) / colornp.AB_SCALE
    return ab.astype(np.float32), mask[..., None].astype(np.float32)


def protocol_points(ab, n, rng, patch=PROTOCOL_PATCH):
    """``n`` hints drawn from a photo's true a*b* ``[H, W, 2]`` (natural units) as in Zhang et
    al.'s test: centres N(1/2, 1/4) of each side, clipped to the photo, each revealing the mean
    a*b* of the ``patch`` x ``patch`` square around it (cut at the borders) over that square."""
    height, width = ab.shape[:2]
    points = []
    for _ in range(n):
        y = int(np.clip(np.round(rng.normal(0.5, 0.25) * (height - 1)), 0, height - 1))
        x = int(np.clip(np.round(rng.normal(0.5, 0.25) * (width - 1)), 0, width - 1))
        half = patch // 2
        box = ab[max(y - half, 0):y + half + 1, max(x - half, 0):x + half + 1]
        mean = tuple(float(v) for v in box.reshape(-1, 2).mean(axis=0))
        points.append(Point(float(x) + 0.5, float(y) + 0.5, mean, float(half)))
    return tuple(points)


def sample_hints(ab_norm, seed, p=GEOMETRIC_P, no_hint_share=NO_HINT_SHARE, max_points=MAX_POINTS,
                 patch_sizes=PATCH_SIZES):
    """Simulated user hints for training (Zhang et al. 2017), stateless TF ops (tf.data).

    With probability ``no_hint_share`` none; else a count geometric on 1, 2, ... with ``p``
    (capped at ``max_points``); each point a square patch with sides uniform in ``patch_sizes``,
    its top-left corner N(S/2, S/4) on each axis clipped so the patch fits, revealing the mean of
    the true a*b* over the patch. Overlapping patches average.

    Args:
      ab_norm: ``[H, W, 2]`` the true normalised a*b* (after crops and flips: the hints move
        with the photo).
      seed: int32 ``[2]``, the stateless seed: the same seed gives the same hints.

    Returns:
      (hint ab ``[H, W, 2]``, mask ``[H, W, 1]``), float32.
    """
    import tensorflow as tf

    ab_norm = tf.convert_to_tensor(ab_norm, tf.float32)
    height, width = tf.shape(ab_norm)[0], tf.shape(ab_norm)[1]
    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), 5)
    u = tf.random.stateless_uniform([], seeds[0])
    # Geometric on 1, 2, ...: 1 + floor(log(U) / log(1 - p)).
    g = tf.random.stateless_uniform([], seeds[1], minval=1e-7, maxval=1.0)
    count = 1 + tf.cast(tf.floor(tf.math.log(g) / np.log(1.0 - p)), tf.int32)
    count = tf.where(u < no_hint_share, 0, tf.minimum(count, max_points))
    sizes = tf.random.stateless_uniform([max_points], seeds[2], minval=patch_sizes[0],
                                        maxval=patch_sizes[1] + 1, dtype=tf.int32)
    sizes = tf.minimum(sizes, tf.minimum(height, width))

    def corners(axis_len, axis_seed):
        centre = tf.random.stateless_normal([max_points], axis_seed, mean=0.5, stddev=0.25)
        top = tf.cast(tf.round(centre * tf.cast(axis_len, tf.float32)), tf.int32) - sizes // 2
        return tf.clip_by_value(top, 0, axis_len - sizes)

    top, left = corners(height, seeds[3]), corners(width, seeds[4])
    active = tf.range(max_points) < count
    return patch_hints(ab_norm, top, left, sizes, active)


def patch_hints(ab_norm, top, left, sizes, active):
    """The hint map of square patches (``[K]`` int32 corners and sides, bool ``active``), each
    revealing the mean of ``ab_norm [H, W, 2]`` over itself; overlaps average. TF ops, no loop:
    each patch is the outer product of a row range and a column range."""
    import tensorflow as tf

    height, width = tf.shape(ab_norm)[0], tf.shape(ab_norm)[1]
    rows = tf.range(height)[None, :]
    cols = tf.range(width)[None, :]
    in_rows = tf.cast((rows >= top[:, None]) & (rows < (top + sizes)[:, None]), tf.float32)  # [K, H]
    in_cols = tf.cast((cols >= left[:, None]) & (cols < (left + sizes)[:, None]), tf.float32)  # [K, W]
    area = tf.cast(sizes * sizes, tf.float32)
    means = tf.einsum("kh,hwc,kw->kc", in_rows, ab_norm, in_cols) / area[:, None]  # [K, 2]
    weighted_rows = in_rows * tf.cast(active, tf.float32)[:, None]
    count_map = tf.einsum("kh,kw->hw", weighted_rows, in_cols)
    sums = tf.einsum("kh,kc,kw->hwc", weighted_rows, means, in_cols)
    mask = tf.cast(count_map > 0, tf.float32)[..., None]
    return sums / tf.maximum(count_map, 1.0)[..., None], mask


POINT_FIELDS = ("x", "y", "radius", "r", "g", "b")  # a point as a row of an exported model's hint tensor


def points_array(points):
    """Points -> float32 ``[N, 6]`` rows (x, y, radius, r, g, b): what the exported models'
    hint signatures take (rows with x < 0 are padding)."""
    rows = [[p.x, p.y, p.radius, *parse_color(p.color or ab_to_hex(p.ab))] for p in points]
    return np.asarray(rows, np.float32).reshape(-1, len(POINT_FIELDS))


def points_to_channels(points, photo_height, photo_width, size):
    """TF ops of :func:`hint_map` for points given as :func:`points_array` rows: the hint channels
    ``[size, size, 3]`` (normalised a*b*, mask) of a photo of ``photo_height`` x ``photo_width``
    seen at ``size`` x ``size``. What the SavedModel's and TFLite's hint signatures run; the same
    pixels and colours as :func:`hint_map` (tests/test_hints.py)."""
    return points_to_map(points, photo_height, photo_width, size, size)


def points_to_map(points, photo_height, photo_width, height, width):
    """:func:`points_to_channels` at ``height`` x ``width`` (tensors allowed): ``[height, width, 3]``."""
    import tensorflow as tf

    from tfcolor.core import color

    points = tf.reshape(tf.cast(points, tf.float32), [-1, len(POINT_FIELDS)])
    x, y, radius = points[:, 0], points[:, 1], points[:, 2]
    height, width = tf.cast(height, tf.float32), tf.cast(width, tf.float32)
    sy = height / tf.cast(photo_height, tf.float32)
    sx = width / tf.cast(photo_width, tf.float32)

    def span(centre, half, size):
        low = tf.clip_by_value(tf.floor(centre - half), 0.0, size - 1.0)
        high = tf.clip_by_value(tf.floor(centre + half) + 1.0, low + 1.0, size)
        index = tf.range(size, dtype=tf.float32)[None, :]
        return tf.cast((index >= low[:, None]) & (index < high[:, None]), tf.float32)  # [N, size]

    active = tf.cast(x >= 0, tf.float32)
    in_rows = span(y * sy, radius * sy, height) * active[:, None]
    in_cols = span(x * sx, radius * sx, width)
    ab = color.rgb_to_lab(points[:, 3:] / 255.0)[:, 1:] / colornp.AB_SCALE  # [N, 2]
    # Matrix products, not einsum: TFLite's converter lowers no einsum of dynamic sizes.
    count = tf.matmul(in_rows, in_cols, transpose_a=True)  # [height, width]
    sums = tf.stack([tf.matmul(in_rows * ab[:, c:c + 1], in_cols, transpose_a=True) for c in (0, 1)], -1)
    mask = tf.expand_dims(tf.cast(count > 0, tf.float32), -1)
    return tf.concat([sums / tf.expand_dims(tf.maximum(count, 1.0), -1), mask], -1)
