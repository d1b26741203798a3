"""TFLite export: the exact sub-pixel rewrite of transposed convolutions, parity of the fp32,
fp16 and int8 models with the Keras generator, full-resolution output, calibration data."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import photo, photo_crops, write_lab_shard
from tfcolor import models
from tfcolor.core import color
from tfcolor.deploy import inference, lite
from tfcolor.models.subpixel import SubPixelConv2D, subpixel_weights, to_subpixel


@pytest.mark.parametrize("kernel,stride", [(4, 2), (3, 2), (5, 2), (4, 3), (2, 3)])
def test_subpixel_conv_equals_the_transposed_conv(kernel, stride):
    rng = np.random.default_rng(kernel * 10 + stride)
    transposed = keras.layers.Conv2DTranspose(5, kernel, stride, padding="same")
    x = rng.normal(size=(2, 7, 6, 3)).astype(np.float32)
    expected = transposed(x).numpy()
    layer = SubPixelConv2D(5, kernel, stride)
    layer.build(x.shape)
    layer.conv.set_weights(subpixel_weights(transposed.kernel.numpy(), transposed.bias.numpy(), stride))
    got = layer(x).numpy()
    assert got.shape == expected.shape == (2, 7 * stride, 6 * stride, 5)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    # Same weights and multiply-adds as the transposed convolution: no zero taps added.
    assert layer.conv.kernel.shape[0] == -(-kernel // stride)


@pytest.mark.parametrize("name,kwargs", [
    ("unet", dict(image_size=64, base_filters=8)),
    ("unet", dict(image_size=64, base_filters=8, norm="spectral")),
    ("resnet", dict(image_size=64, base_filters=8, num_blocks=2)),
    ("encoder_unet", dict(image_size=64, base_filters=8, encoder="mobilenet_v2")),
])
def test_to_subpixel_keeps_the_generator_output(name, kwargs):
    keras.utils.set_random_seed(0)
    generator = models.build_generator(name, **kwargs)
    rng = np.random.default_rng(0)
    for layer in generator.layers:  # non-trivial BatchNorm statistics
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.set_weights([rng.uniform(0.5, 1.5, w.shape).astype(np.float32) for w in layer.get_weights()])
    rewritten = to_subpixel(generator)
    assert not any(isinstance(getattr(l, "layer", l), keras.layers.Conv2DTranspose) for l in rewritten.layers)
    x = rng.uniform(-1, 1, (2, 64, 64, 1)).astype(np.float32)
    np.testing.assert_allclose(rewritten(x, training=False).numpy(), generator(x, training=False).numpy(),
                               atol=1e-5)


@pytest.fixture(scope="module")
def variant_files(trained_model_files):
    """The three variants' bytes (converted once per session: conftest.trained_model_files)."""
    return {variant: open(trained_model_files[variant], "rb").read() for variant in lite.VARIANTS}


@pytest.fixture(scope="module")
def variants(variant_files):
    return {v: lite.interpreter(model, num_threads=2) for v, model in variant_files.items()}


def real_l(count=4):
    crops = np.stack([tf.image.resize(c, [32, 32]).numpy().round().astype(np.uint8)
                      for c in photo_crops(count, size=40, names=("astronaut", "coffee"))])
    return color.normalize_l(color.rgb_to_lab(crops)[..., :1]).numpy()


@pytest.mark.slow
@pytest.mark.parametrize("variant,tolerance", [("fp32", 1e-4), ("fp16", 1e-2)])
def test_float_variants_match_the_keras_generator_on_normalised_ab(trained_generator, variants, variant,
                                                                   tolerance):
    runner = variants[variant].get_signature_runner("generator")
    for l_norm in real_l():
        got = runner(l=l_norm[None])["ab"][0]
        expected = trained_generator(l_norm[None], training=False).numpy()[0]
        assert np.abs(expected).max() > 0.05  # the network predicts colour, not gray
        np.testing.assert_allclose(got, expected, atol=tolerance)


def psnr(a, b):
    return float(tf.image.psnr(a.astype(np.float32), b.astype(np.float32), max_val=255.0))


INT8_AB_TOLERANCE = 2.0  # a*b* units (of about +-110), mean over a photo's pixels; 0.74-1.20 measured (AMD EPYC)


def test_int8_costs_at_most_half_a_db_on_real_photos(variants):
    losses, differences = [], []
    for name in ("coffee", "chelsea", "astronaut", "rocket"):
        truth = photo(name)
        fp32 = lite.colorize_with(variants["fp32"], truth)
        int8 = lite.colorize_with(variants["int8"], truth)
        losses.append(psnr(fp32, truth) - psnr(int8, truth))
        # Both ways, not only a loss bound: int8's a*b* stay near the float network's.
        ab_fp32 = color.rgb_to_lab(fp32).numpy()[..., 1:]
        ab_int8 = color.rgb_to_lab(int8).numpy()[..., 1:]
        differences.append(float(np.abs(ab_int8 - ab_fp32).mean()))
    assert np.mean(losses) <= 0.5, losses
    print("mean |a*b* int8 - fp32| per photo:", differences)
    assert max(differences) < INT8_AB_TOLERANCE, differences


def test_int8_network_is_quantised_and_has_no_transposed_conv(variant_files, trained_generator):
    """In every signature and every branch of one (colorize_hints's): one int8 copy of the network."""
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(variant_files["int8"]))
    kinds, conv_outputs = set(), []
    for subgraph in model.subgraphs:
        for op in subgraph.operators or []:
            kind = flatbuffer_utils.opcode_to_name(model, op.opcodeIndex)
            kinds.add(kind)
            if kind == "CONV_2D":
                conv_outputs.append(subgraph.tensors[op.outputs[0]].type)
    assert "TRANSPOSE_CONV" not in kinds
    int8 = 9  # the schema's TensorType.INT8
    assert conv_outputs and all(dtype == int8 for dtype in conv_outputs), conv_outputs
    # Its weights take 1 byte each, not 4: a float copy of the network would add 4 more.
    assert len(variant_files["int8"]) < len(variant_files["fp32"]) - 2 * trained_generator.count_params()


@pytest.mark.parametrize("variant", lite.VARIANTS)
def test_colorize_signature_uint8_any_size_keeps_l(trained_generator, variants, variant):
    interp = variants[variant]
    details = interp.get_signature_runner("colorize").get_input_details()["image"]
    assert details["dtype"] == np.uint8 and list(details["shape_signature"]) == [1, -1, -1, 3]
    original = photo("chelsea")[:301, :451]  # odd size
    result = lite.colorize_with(interp, original)
    assert result.shape == original.shape and result.dtype == np.uint8
    l_in = color.rgb_to_lab(original).numpy()[..., 0]
    l_out = color.rgb_to_lab(result).numpy()[..., 0]
    assert np.abs(l_in - l_out).mean() < 1.0
    if variant == "fp32":  # same graph as the SavedModel: at most one level of rounding apart
        expected = inference.to_uint8(inference.colorize(
            trained_generator, inference.to_float_rgb(original[None]), 32))[0].numpy()
        assert np.abs(result.astype(int) - expected).max() <= 1


@pytest.mark.parametrize("variant", lite.VARIANTS)
def test_colorize_hints_signature_solves_levin_as_colorize_hints(variants, variant):
    """A model without hint inputs: its file's colorize_hints propagates the points in its own
    graph (tfcolor.core.levin_graph) with the pixels of Python's `colorize --hints`
    (tfcolor.deploy.hinting.propagate, numpy); no point (or padding rows only): colorize's."""
    from tfcolor.core import hints as H
    from tfcolor.deploy import hinting

    interp = variants[variant]
    assert not lite.takes_hint_rows(interp)  # Python propagates for itself (and takes references)
    for name, count in (("coffee", 10), ("astronaut", 1), ("rocket", 3)):
        rgb = photo(name)
        rgb = rgb[:, :rgb.shape[1] * 2 // 3]  # (astronaut: a tall photo, solved the other way round)
        hints = H.Hints(tuple(H.protocol_points(H.lab_of_rgb(rgb)[..., 1:], count, np.random.default_rng(count))))
        got = lite.colorize_with(interp, rgb, hinting.hint_rows(hints))
        want = hinting.propagate(rgb, hints)
        assert psnr(got, want) >= 40.0, (name, psnr(got, want))
        lab = H.lab_of_rgb(got)
        for p in hints.points:  # the hint's colour where it was given
            x, y = int(p.x), int(p.y)
            assert np.abs(lab[max(y - 1, 0):y + 2, max(x - 1, 0):x + 2, 1:].mean((0, 1)) - p.ab).max() < 10
    automatic = color.rgb_to_lab(lite.colorize_with(interp, rgb)).numpy()
    for rows in (np.zeros((0, 6), np.float32), [[-1, 0, 0, 0, 0, 0]]):
        none = color.rgb_to_lab(lite.colorize_with(interp, rgb, rows)).numpy()
        np.testing.assert_allclose(none[..., 0], automatic[..., 0], atol=0.5)
        if variant != "int8":
            np.testing.assert_array_equal(none, automatic)
        else:  # the same network, calibrated on colorize_hints's own samples
            assert np.abs(none[..., 1:] - automatic[..., 1:]).mean() < INT8_AB_TOLERANCE


@pytest.mark.parametrize("variant", lite.VARIANTS)
def test_colorize_hints_signature_takes_a_reference_photo(variants, variant, tmp_path):
    """A reference photo's pixels (hinting.reference_pixels) in colorize_hints: the file's own
    colours moved to the reference's, and the points propagated around them, as `colorize
    --hints` does with its colours (hinting.hinted); without a point, its colours alone."""
    from PIL import Image

    from tfcolor.core import hints as H
    from tfcolor.deploy import hinting

    interp = variants[variant]
    reference = str(tmp_path / "reference.png")
    lab = H.lab_of_rgb(photo("coffee")[:200, :200])
    lab[..., 1], lab[..., 2] = lab[..., 1] * 0.5 - 25.0, lab[..., 2] * 0.5 - 20.0  # a cold, green-blue photo
    Image.fromarray(inference.to_uint8(color.lab_to_rgb(lab)).numpy()).save(reference)
    rgb = photo("chelsea")[:200, :300]
    pixels = hinting.reference_pixels(reference)
    for count in (0, 3):
        points = H.protocol_points(H.lab_of_rgb(rgb)[..., 1:], count, np.random.default_rng(count)) if count else ()
        hints = H.Hints(tuple(points), reference=reference)
        got = lite.colorize_with(interp, rgb, hinting.hint_rows(hints), pixels)
        want = hinting.hinted(lambda x: lite.colorize_with(interp, x), hints, rgb)
        assert psnr(got, want) >= 40.0, (count, psnr(got, want))
        if not count:  # the reference's colours: its mean a*b*, far from the automatic ones
            mean = H.lab_of_rgb(got)[..., 1:].reshape(-1, 2).mean(0)
            assert np.abs(mean - hinting.reference_ab(reference).mean(0)).max() < 3, mean
            automatic = H.lab_of_rgb(lite.colorize_with(interp, rgb))[..., 1:].reshape(-1, 2).mean(0)
            assert np.abs(mean - automatic).max() > 10, (mean, automatic)


def test_shrink_is_close_to_an_area_resize():
    image = tf.constant(photo("coffee")[None].astype(np.float32))  # 400 x 600
    got = inference.shrink(image, 64).numpy()
    expected = tf.image.resize(image, [64, 64], method="area").numpy()
    assert got.shape == (1, 64, 64, 3)
    assert np.abs(got - expected).mean() < 0.5


def test_calibration_photos_come_from_prepared_records(tmp_path):
    crops = photo_crops(5, size=40)
    write_lab_shard(str(tmp_path), "val", crops)
    photos = lite.representative_photos(str(tmp_path), 32, count=3)
    assert len(photos) == 3 and photos[0].shape == (32, 32, 3) and photos[0].dtype == np.uint8
    # The centre crop of the first record, up to the 8-bit Lab storage.
    center = crops[0][4:36, 4:36].astype(int)
    assert np.abs(photos[0].astype(int) - center).mean() < 2.0
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no TFRecord shards"):
        lite.representative_photos(str(tmp_path / "empty"), 32)


def test_calibration_photos_from_a_folder_of_photos(tmp_path):
    """Each photo's centred square, resized; files spread over the folder; unreadable ones passed over."""
    from PIL import Image

    colours = [(200, 30, 30), (30, 200, 30), (30, 30, 200), (200, 200, 30), (30, 200, 200)]
    for i, colour in enumerate(colours):
        wide = np.zeros((30, 50, 3), np.uint8)
        wide[:, 10:40] = colour  # the centred 30x30 square; black margins left and right
        Image.fromarray(wide).save(tmp_path / f"{i}.png")
    (tmp_path / "5_broken.jpg").write_bytes(b"\xff\xd8\xff broken")
    photos = lite.representative_photos(str(tmp_path), 16, count=3)  # files 0, 2 and 5 (broken)
    assert len(photos) == 2 and photos[0].shape == (16, 16, 3) and photos[0].dtype == np.uint8
    for got, colour in zip(photos, (colours[0], colours[2])):
        assert (got == np.array(colour, np.uint8)).all()


@pytest.mark.slow
def test_a_pretrained_encoder_generator_converts_like_the_others():
    keras.utils.set_random_seed(0)
    generator = models.build_generator("encoder_unet", image_size=32, base_filters=8, encoder="mobilenet_v2")
    runner = lite.interpreter(lite.convert(generator, 32, "fp32"), num_threads=2).get_signature_runner("generator")
    for l_norm in real_l(2):
        np.testing.assert_allclose(runner(l=l_norm[None])["ab"][0],
                                   generator(l_norm[None], training=False).numpy()[0], atol=1e-4)
