"""Colourise photos of any size with a trained generator, in pure TF ops (exportable).

The network sees the L channel resized to its training size; its ab output is
resized back to the photo's size and joined with the photo's own full-resolution
L (the usual trick of Zhang et al. 2016 and DeOldify), so the result keeps every
detail of the input and only the colour comes from the network.
"""

import tensorflow as tf

from tfcolor.core import color
from tfcolor.core.hints import HINT_CHANNELS
from tfcolor.models.hint_inputs import takes_hints

OVERSIZE_POLICIES = ("refuse", "downscale")
# The name of the Rescaling layer with_chroma_gain adds (its scale is the gain).
CHROMA_GAIN_LAYER = "chroma_gain"


def colorize(generator, rgb, model_size, hint_channels=None):
    """Colourises one batch of same-sized images.

    Args:
      generator: callable L_norm [B, S, S, 1] -> ab_norm [B, S, S, 2], or a hint generator
        (tfcolor.models.hint_inputs) taking [B, S, S, 4].
      rgb: float32 [B, H, W, 3] sRGB in [0, 1] (a gray photo has equal channels).
      model_size: S, the generator's input size.
      hint_channels: a hint generator's hints at S x S, [B, S, S, 3] (normalised a*b*, mask:
        tfcolor.core.hints.hint_map); None: no hints (it colours on its own).

    Returns:
      float32 [B, H, W, 3] sRGB in [0, 1] with the input's L channel.
    """
    return colorize_l(generator, color.rgb_to_lab(rgb)[..., :1], model_size, hint_channels)


def colorize_l(generator, l_full, model_size, hint_channels=None):
    """:func:`colorize` of the photos' L [B, H, W, 1] (0-100)."""
    l_small = network_input(l_full, model_size)
    if takes_hints(generator):
        l_small = with_hint_channels(l_small, hint_channels)
    return recombine(l_full, generator(l_small, training=False))


def bare_variables(generator):
    """The generator's variables, for an exported module to track instead of the Keras model:
    saving the model would add a node per layer (a larger SavedModel, saved and loaded slower)
    and its training-mode functions (BatchNorm statistic updates), whose assigned variables the
    TFLite converter keeps as resource variables, unfrozen."""
    return [weight.value for weight in generator.weights]


class TracedOnce:
    """A generator behind one ``tf.function`` of fixed input signature ``[None, S, S, C]``:
    every exported function that calls it (a SavedModel's four signatures, a TFLite file's
    three) calls one traced graph, where each traced the whole network again (a quarter of a
    SavedModel export's time)."""

    def __init__(self, generator, model_size):
        self.input_shape = generator.input_shape  # (takes_hints reads it)
        spec = tf.TensorSpec([None, model_size, model_size, generator.input_shape[-1]], tf.float32)
        self._call = tf.function(lambda l: generator(l, training=False), input_signature=[spec],
                                 autograph=False)

    def __call__(self, l, training=False):
        del training  # inference only
        return self._call(l)


def network_input(l_full, model_size):
    """The photos' L [B, H, W, 1] (0-100) -> what the network sees: normalised L [B, S, S, 1]."""
    return color.normalize_l(shrink(l_full, model_size))


def with_hint_channels(l_small, hint_channels=None):
    """A hint generator's input: L [B, S, S, 1] and its hint channels (None: no hints, zeros)."""
    if hint_channels is None:  # no hints: it colours on its own
        hint_channels = tf.zeros_like(tf.tile(l_small, [1, 1, 1, HINT_CHANNELS]))
    return tf.concat([l_small, tf.cast(hint_channels, tf.float32)], -1)


def recombine(l_full, ab_small):
    """The photos' own L [B, H, W, 1] joined with the network's normalised a*b* [B, S, S, 2]
    resized to their size: float32 sRGB [B, H, W, 3]."""
    ab_full = tf.image.resize(color.denormalize_ab(ab_small), tf.shape(l_full)[1:3], method="bilinear")
    return color.lab_to_rgb(tf.concat([l_full, ab_full], axis=-1))


def generator_at(generator, size):
    """The same generator (same weights) taking [B, size, size, 1]: what the network sees at
    ``--render_size`` (like DeOldify's render factor). Larger sizes give the network more
    detail and context, smaller ones are faster; the output keeps the photo's size and L."""
    import numpy as np

    from tfcolor.models import register_custom_layers

    register_custom_layers()  # for from_config

    trained = generator.input_shape[1]
    if trained == size:
        return generator

    def resize_inputs(config):  # nested models (the ResNet-18 encoder) have inputs of their own
        for layer in config.get("layers", []):
            if layer["class_name"] == "InputLayer":
                shape = list(layer["config"]["batch_shape"])
                if shape[1:3] == [trained, trained]:
                    layer["config"]["batch_shape"] = (shape[0], size, size, *shape[3:])
            else:
                resize_inputs(layer.get("config", {}))
        return config

    try:
        resized = generator.__class__.from_config(resize_inputs(generator.get_config()))
        resized.set_weights(generator.get_weights())
        resized(np.zeros((1, size, size, generator.input_shape[-1]), np.float32), training=False)  # sizes a U-Net cannot take fail here
    except Exception as e:  # noqa: BLE001 (Keras and TF raise several types for a bad size)
        raise ValueError(f"this generator cannot run at {size}x{size}: a U-Net needs a multiple of 2 to the power "
                         f"of its depth, e.g. of its training size {trained} ({type(e).__name__}: "
                         f"{str(e).splitlines()[0][:150]})") from e
    return resized


def with_chroma_gain(generator, gain):
    """The generator with its a*b* output multiplied by ``gain`` (a Rescaling layer after it,
    so it exports, converts to TFLite and renders at any size like the generator itself).

    A regression generator's colour is a hedge between the hues it finds plausible, duller than
    real photos; a gain above 1 makes it as vivid as they are (``tfcolor.evaluate`` reports the
    gain that matches the real colourfulness of held-out photos) and makes wrong hues louder too.
    Colours pushed out of the sRGB gamut are clipped by the Lab -> RGB conversion."""
    if gain <= 0:
        raise ValueError(f"a chroma gain must be positive, not {gain}")
    if gain == 1:
        return generator
    import keras

    # One more layer on the generator's own graph, not a model around it: the layers stay one
    # flat list, which the TFLite rewrites (to_subpixel, int8's network-only quantisation) walk.
    ab = keras.layers.Rescaling(float(gain), name=CHROMA_GAIN_LAYER)(generator.outputs[0])
    return keras.Model(generator.input, ab, name=generator.name)


def shrink(images, size):
    """[B, H, W, C] -> [B, size, size, C], an area-style resize made of TFLite builtin ops.

    Bilinear resize up to the next multiple k*size of each side (a factor below 2, so no
    aliasing), then the mean of each k x k block: every input pixel counts, as in an area
    resize, for any H, W (smaller than ``size`` too: k = 1 is a plain bilinear resize).
    tf.image.resize's "area" method has no TFLite kernel.
    """
    shape = tf.shape(images)
    batch, height, width, channels = shape[0], shape[1], shape[2], shape[3]
    kh = tf.maximum((height + size - 1) // size, 1)
    kw = tf.maximum((width + size - 1) // size, 1)
    x = tf.image.resize(images, tf.stack([kh * size, kw * size]), method="bilinear")
    x = tf.reduce_mean(tf.reshape(x, [batch * size, kh, kw * size, channels]), axis=1)
    x = tf.reduce_mean(tf.reshape(x, [batch * size * size, kw, channels]), axis=1)
    return tf.reshape(x, [batch, size, size, channels])


def gray_rgb(images):
    """RGB images (uint8 or float [0, 1]) -> uint8 RGB of their L channel alone (ab = 0):
    exactly what a colouriser sees of a photo."""
    lab = color.rgb_to_lab(to_float_rgb(images))
    return to_uint8(color.lab_to_rgb(lab * tf.constant([1.0, 0.0, 0.0])))


def to_float_rgb(images):
    """uint8 or float images with 1, 3 or 4 channels -> float32 RGB in [0, 1]."""
    images = tf.convert_to_tensor(images)
    if images.dtype == tf.uint8:
        images = tf.cast(images, tf.float32) / 255.0
    images = tf.cast(images, tf.float32)
    channels = tf.shape(images)[-1]
    # Gray is repeated to RGB, an alpha channel dropped.
    images = tf.cond(channels == 1, lambda: tf.repeat(images, 3, axis=-1), lambda: images[..., :3])
    return tf.clip_by_value(images, 0.0, 1.0)


def to_uint8(rgb):
    return tf.cast(tf.round(tf.clip_by_value(rgb, 0.0, 1.0) * 255.0), tf.uint8)


def limit_pixels(image, max_pixels, policy):
    """Refuses (InvalidArgument) or downscales an [H, W, C] image above ``max_pixels``."""
    height, width = tf.shape(image)[0], tf.shape(image)[1]
    pixels = tf.cast(height, tf.int64) * tf.cast(width, tf.int64)
    if policy == "refuse":
        check = tf.debugging.assert_less_equal(
            pixels, tf.constant(max_pixels, tf.int64),
            message=f"image has more than {max_pixels} pixels (the limit set at export)")
        with tf.control_dependencies([check]):
            return tf.identity(image)
    scale = tf.minimum(1.0, tf.sqrt(float(max_pixels) / tf.cast(pixels, tf.float32)))
    new_size = tf.cast(tf.floor(tf.cast(tf.stack([height, width]), tf.float32) * scale), tf.int32)
    return tf.cond(scale < 1.0,
                   lambda: tf.cast(tf.image.resize(image, tf.maximum(new_size, 1), antialias=True),
                                   image.dtype),
                   lambda: image)


def decode_image(data):
    """Encoded JPEG/PNG/BMP/GIF bytes -> uint8 [H, W, 3] (gray is repeated, alpha dropped,
    16-bit reduced). Bad bytes raise InvalidArgument with a clear message."""
    check = tf.debugging.assert_greater(tf.strings.length(data), 0, message="empty image bytes")
    with tf.control_dependencies([check]):
        image = tf.io.decode_image(data, channels=3, dtype=tf.uint8, expand_animations=False)
    image.set_shape([None, None, 3])
    return image


def colorize_encoded(generator, data, model_size, max_pixels, policy="refuse", points=None, refiner=None):
    """One encoded photo -> PNG bytes of the colourised photo, at its own size (after the
    pixel-limit policy). ``points``: hint rows [N, 6] in the decoded photo's pixels
    (tfcolor.core.hints.points_array); ``refiner``: as :func:`colorize_propagated`."""
    decoded = decode_image(data)
    image = limit_pixels(decoded, max_pixels, policy)
    rgb = colorize_points(generator, to_float_rgb(image)[None], model_size, points, tf.shape(decoded),
                          refiner=refiner)[0]
    return tf.io.encode_png(to_uint8(rgb))


def colorize_points(generator, rgb, model_size, points=None, photo_shape=None, reference=None, refiner=None):
    """:func:`colorize` of one photo ``[1, H, W, 3]`` with hint rows ``points`` [N, 6] (None:
    none) given in the pixels of a photo of ``photo_shape`` (default: this one's), and a
    reference photo's pixels ``reference`` [M, 3] (RGB 0-255; none: M = 0 or None), as
    tfcolor.deploy.hinting.hinted uses them. A generator without hint inputs takes them by
    :func:`colorize_propagated` (with its ``refiner``, if any)."""
    if points is None:
        return colorize(generator, rgb, model_size)
    shape = tf.shape(rgb)[1:3] if photo_shape is None else photo_shape[:2]
    if not takes_hints(generator):
        return colorize_propagated(generator, rgb, model_size, points, shape, reference, refiner)
    from tfcolor.core.hints import points_to_channels

    channels = points_to_channels(points, shape[0], shape[1], model_size)
    l_full = color.rgb_to_lab(rgb)[:, :, :, :1]
    out = colorize_l(generator, l_full, model_size, channels[None])
    if reference is None:
        return out
    reference = tf.reshape(tf.cast(reference, tf.float32), [-1, 3])
    return tf.cond(tf.shape(reference)[0] > 0, lambda: like_reference(l_full, out, reference), lambda: out)


def like_reference(l_full, colours, reference):
    """tfcolor.deploy.hinting.like_reference in TF ops: ``colours`` (float sRGB [1, H, W, 3], a
    colourisation) moved to the a*b* mean and spread of a reference photo's pixels ``reference``
    [M, 3] (RGB 0-255), joined with the photo's L ``l_full`` [1, H, W, 1]."""
    from tfcolor.deploy.hinting import REFERENCE_MOST

    ab = color.rgb_to_lab(colours)[..., 1:]
    mean, variance = tf.nn.moments(ab, [0, 1, 2])
    ref_mean, ref_variance = tf.nn.moments(color.rgb_to_lab(reference / 255.0)[:, 1:], [0])
    scale = tf.clip_by_value(tf.sqrt(ref_variance) / tf.maximum(tf.sqrt(variance), 1e-3),
                             1.0 / REFERENCE_MOST, REFERENCE_MOST)
    return color.lab_to_rgb(tf.concat([l_full, (ab - mean) * scale + ref_mean], -1))


def _area_matrix(n, size):
    """[size, n]: each output cell's shares of the ``n`` input cells (colornp._area_weights)."""
    step = tf.cast(n, tf.float32) / tf.cast(size, tf.float32)
    edges = tf.range(tf.cast(size, tf.float32) + 1.0) * step
    cells = tf.range(tf.cast(n, tf.float32))[None, :]
    overlap = tf.minimum(edges[1:, None], cells + 1.0) - tf.maximum(edges[:-1, None], cells)
    return tf.maximum(overlap, 0.0) / step


def resize_area(image, height, width):
    """[H, W] -> [height, width], each output pixel the mean of the area it covers (as
    tfcolor.core.colornp.resize_area), of matrix products: TFLite has no area resize."""
    return _area_matrix(tf.shape(image)[0], height) @ image @ tf.transpose(_area_matrix(tf.shape(image)[1], width))


def colorize_propagated(generator, rgb, model_size, points, points_shape=None, reference=None, refiner=None):
    """:func:`colorize_points` for a generator without hint inputs (the shipped model): with
    any point, Levin et al. 2004's propagation of the points (tfcolor.core.levin_graph) at
    hinting.PROPAGATION_SIZE px on the long side, then (without a reference photo) the learned
    ``refiner``'s correction of it (tfcolor.models.hint_refiner; a callable [1, S, S, 6] ->
    [1, S, S, 2], e.g. a :class:`TracedOnce`; None: Levin's colours), joined with the photo's own
    L, as tfcolor.deploy.hinting.propagate computes it in numpy; with none, the network's colours.
    ``rgb`` [1, H, W, 3]; ``points`` [N, 6] rows (x < 0: padding) in the pixels of a photo of
    ``points_shape`` (H, W: default, this one's; another when the photo was shrunk). With a
    reference photo's pixels ``reference`` [M > 0, 3], the network's colours move to its own
    (:func:`like_reference`) and the propagation is pulled towards them, as hinting.hinted."""
    from tfcolor.core import colornp, levin_graph
    from tfcolor.core.hints import points_to_map
    from tfcolor.deploy.hinting import PROPAGATION_SIZE, REFERENCE_PRIOR_WEIGHT
    from tfcolor.models.hint_refiner import CHANNELS, SIZE

    points = tf.reshape(tf.cast(points, tf.float32), [-1, 6])
    l_full = color.rgb_to_lab(rgb)[:, :, :, :1]
    # The network outside the branches, run either way (a tenth of the solve's time): inside one,
    # TFLite's int8 quantiser left it float, a second copy of its weights in the file.
    automatic = colorize_l(generator, l_full, model_size)
    given = None
    if reference is not None:
        reference = tf.reshape(tf.cast(reference, tf.float32), [-1, 3])
        given = tf.shape(reference)[0] > 0
        network = automatic
        automatic = tf.cond(given, lambda: like_reference(l_full, network, reference), lambda: network)

    def propagated():
        shape = tf.shape(rgb)[1:3]
        sides = tf.cast(shape, tf.float32)
        scale = tf.minimum(1.0, PROPAGATION_SIZE / tf.reduce_max(sides))
        size = tf.maximum(tf.cast(tf.round(sides * scale), tf.int32), 1)  # hinting.working_size
        gray = resize_area(l_full[0, :, :, 0] / 100.0, size[0], size[1])
        placed = shape if points_shape is None else points_shape
        hint = points_to_map(points, placed[0], placed[1], size[0], size[1])
        prior, weight = None, 0.0
        if given is not None:  # pulled towards the reference-like colours (hinting.hinted)
            def reference_prior():
                ab_auto = color.rgb_to_lab(automatic)[0] / colornp.AB_SCALE
                return tf.stack([resize_area(ab_auto[:, :, c], size[0], size[1]) for c in (1, 2)], -1)

            prior = tf.cond(given, reference_prior, lambda: tf.zeros(tf.concat([size, [2]], 0)))
            weight = tf.where(given, REFERENCE_PRIOR_WEIGHT, 0.0)
        ab = levin_graph.propagate(gray, hint[:, :, :2], hint[:, :, 2:], prior, weight)
        if refiner is not None:
            def refined():  # hint_refiner.square_input: the working size in the square's top-left corner
                square = tf.pad(tf.concat([tf.expand_dims(gray, -1), ab, hint], -1),
                                [[0, SIZE - size[0]], [0, SIZE - size[1]], [0, 0]])
                out = refiner(tf.reshape(square, [1, SIZE, SIZE, CHANNELS]))  # (static: TFLite has no EnsureShape)
                return tf.slice(tf.reshape(out, [SIZE, SIZE, 2]), [0, 0, 0], tf.concat([size, [2]], 0))

            ab = refined() if given is None else tf.cond(given, lambda: ab, refined)
        ab = ab * colornp.AB_SCALE
        ab_full = tf.image.resize(tf.expand_dims(ab, 0), shape, method="bilinear")
        return color.lab_to_rgb(tf.concat([l_full, ab_full], -1))

    return tf.cond(tf.reduce_any(points[:, 0] >= 0), propagated, lambda: automatic)
