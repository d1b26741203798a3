"""Generators and discriminators: sizes, pinned parameter counts, receptive fields,
norm options, PixelTCL against a slow reference, .keras round trips."""

import os
import warnings
import zipfile

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfcolor import models
from tfcolor.models import backbones, discriminators, layers
from tfcolor.models.pixeltcl import PixelTCL
from tfcolor.models.resnet import resnet18_encoder, resnet18_unet_generator


def test_pix2pix_unet_256_has_54_4_million_parameters():
    g = models.build_generator("unet", image_size=256)
    # TF's pix2pix tutorial generator has 54,425,859 for 3 -> 3 channels. For 1 -> 2:
    # -16*64*2 (first conv) - (16*128 + 1) (last convT), - 2,048 for no BatchNorm on the 1x1
    # innermost level, + 64 + 512 for the biases of the two levels without norm.
    assert g.count_params() == 54_425_859 - 2048 - 2049 - 2048 + 64 + 512 == 54_420_290
    assert g.output_shape == (None, 256, 256, 2)
    assert sum("down" in l.name and l.name.endswith("_conv") for l in g.layers) == 8


def test_unet_depth_follows_the_image_size():
    g = models.build_generator("unet", image_size=128)
    assert sum("down" in l.name and l.name.endswith("_conv") for l in g.layers) == 7
    assert g.get_layer("down7_conv").output.shape[1] == 1  # 1x1 bottleneck


def test_g_max_filters_caps_the_unet_levels_from_the_config():
    from tfcolor.training import builders, config

    c = config.TrainConfig()
    c.data.image_size, c.model.g_filters, c.model.g_max_filters = 64, 32, 128
    g, _ = builders.build_networks(c)
    outs = [g.get_layer(f"down{i}_conv").kernel.shape[-1] for i in range(1, 7)]
    assert outs == [32, 64, 128, 128, 128, 128]
    assert g.get_layer("down6_conv").kernel.shape == (4, 4, 128, 128)


def test_patchgan_70_on_3_channels_has_2_77_million_parameters():
    d = models.build_discriminator("patchgan", image_size=256, n_layers=3)
    # TF tutorial discriminator (6 input channels): 2,770,433; 3 channels: -16*3*64; plus the
    # bias of the first conv (no norm after it).
    assert d.count_params() == 2_770_433 - 16 * 3 * 64 + 64 == 2_767_425
    assert d.output_shape == (None, 30, 30, 1)


def test_pixelgan_parameter_count_by_hand():
    d = models.build_discriminator("pixelgan", image_size=32)
    # 1x1 convs: 3*64 + 64 bias; 64*128 (no bias) + BatchNorm 4*128; 128*1 + 1.
    assert d.count_params() == (3 * 64 + 64) + (64 * 128 + 4 * 128) + (128 + 1)
    assert d.output_shape == (None, 32, 32, 1)


@pytest.mark.parametrize("n_layers,field", [(1, 16), (3, 70), (5, 286)])
def test_patchgan_receptive_field(n_layers, field):
    assert discriminators.receptive_field(n_layers) == field
    size = 320 if n_layers == 5 else 128
    d = discriminators.patchgan_discriminator(size, n_layers=n_layers, base_filters=4, norm="none")
    l = tf.random.normal([1, size, size, 1], seed=1)
    ab = tf.random.normal([1, size, size, 2], seed=2)
    with tf.GradientTape() as tape:
        tape.watch(l)
        out = d([l, ab])
        center = out.shape[1] // 2
        target = out[0, center, center, 0]
    grad = np.abs(tape.gradient(target, l).numpy()[0, :, :, 0])
    rows, cols = np.nonzero(grad.sum(1))[0], np.nonzero(grad.sum(0))[0]
    assert rows.max() - rows.min() + 1 == field
    assert cols.max() - cols.min() + 1 == field


@pytest.mark.parametrize("name,kwargs", [
    ("unet", dict(image_size=64)),
    ("unet", dict(image_size=64, upsampling="resize", norm="instance")),
    ("unet", dict(image_size=64, upsampling="pixeltcl", norm="layer")),
    ("unet_small", dict(image_size=32, norm="spectral")),
    ("resnet", dict(image_size=64, num_blocks=6)),
    ("resnet18_unet", dict(image_size=64)),
    ("encoder_unet", dict(image_size=64, encoder="vgg16", base_filters=8)),
    ("encoder_unet", dict(image_size=64, encoder="resnet50", base_filters=8, upsampling="resize")),
    ("encoder_unet", dict(image_size=64, encoder="mobilenet_v2", base_filters=8)),
    ("encoder_unet", dict(image_size=64, encoder="efficientnet_b0", base_filters=8, norm="instance")),
    ("encoder_unet", dict(image_size=64, encoder="efficientnet_lite0", base_filters=8, max_filters=16)),
])
def test_generators_map_l_to_ab_in_range(name, kwargs):
    g = models.build_generator(name, **kwargs)
    size = kwargs["image_size"]
    out = g(tf.random.uniform([2, size, size, 1], -1, 1, seed=0), training=False).numpy()
    assert out.shape == (2, size, size, 2)
    assert np.all(np.abs(out) <= 1.0) and out.std() > 0


@pytest.mark.parametrize("norm", layers.NORMS)
@pytest.mark.parametrize("kind", ["patchgan", "pixelgan"])
def test_every_norm_option_builds(kind, norm):
    d = models.build_discriminator(kind, image_size=32, norm=norm, final_activation="sigmoid")
    out = d([tf.zeros([2, 32, 32, 1]), tf.zeros([2, 32, 32, 2])], training=True).numpy()
    assert np.all((out >= 0) & (out <= 1))
    flat = list(layers.all_layers(d))
    if norm == "spectral":
        assert any(isinstance(l, keras.layers.SpectralNormalization) for l in flat)
    if norm == "instance":
        # groups=-1 becomes one group per channel when built.
        assert any(isinstance(l, keras.layers.GroupNormalization) and l.groups == l.gamma.shape[0] > 1
                   for l in flat)
    if norm == "batch":
        assert any(isinstance(l, keras.layers.BatchNormalization) for l in flat)
    if norm == "none":
        assert not any(isinstance(l, (keras.layers.BatchNormalization, keras.layers.GroupNormalization))
                       for l in flat)


def test_initialisers():
    g = models.build_generator("unet", image_size=32, init="normal")
    kernel = g.get_layer("down3_conv").kernel.numpy()
    assert abs(kernel.std() - 0.02) < 0.002 and abs(kernel.mean()) < 0.002
    g = models.build_generator("unet", image_size=32, init="xavier")
    kernel = g.get_layer("down3_conv").kernel.numpy()
    fan_in, fan_out = 4 * 4 * 128, 4 * 4 * 256
    limit = np.sqrt(6 / (fan_in + fan_out))
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.9 * limit


def test_unknown_names_list_the_known_ones():
    with pytest.raises(ValueError, match="encoder_unet, resnet, resnet18_unet, unet, unet_small"):
        models.build_generator("unet++")
    with pytest.raises(ValueError, match="unknown norm .weight.; known: batch, instance"):
        models.build_discriminator("patchgan", norm="weight")


def pixeltcl_reference(layer, x):
    """Slow, obviously-correct PixelTCL: explicit loops over pixels."""
    w1, b1 = (v.numpy() for v in layer.conv1.weights)
    w2, b2 = (v.numpy() for v in layer.conv2.weights)
    wm = layer.masked_kernel.numpy() * layers.cross_mask()[:, :, None, None]
    bm = layer.masked_bias.numpy()

    def conv_same(image, kernel, bias):
        h, w, _ = image.shape
        k = kernel.shape[0] // 2
        padded = np.pad(image, ((k, k), (k, k), (0, 0)))
        out = np.zeros((h, w, kernel.shape[3]))
        for i in range(h):
            for j in range(w):
                patch = padded[i : i + 2 * k + 1, j : j + 2 * k + 1]
                out[i, j] = np.einsum("abc,abcd->d", patch, kernel) + bias
        return out

    f1 = conv_same(x, w1, b1)
    f2 = conv_same(f1, w2, b2)
    h, w, c = f1.shape
    combined = np.zeros((2 * h, 2 * w, c))
    for i in range(h):
        for j in range(w):
            combined[2 * i, 2 * j] = f1[i, j]
            combined[2 * i + 1, 2 * j + 1] = f2[i, j]
    return combined + conv_same(combined, wm, bm)


def test_pixeltcl_matches_a_slow_reference():
    layer = PixelTCL(3, init="xavier")
    x = np.random.default_rng(0).normal(size=(1, 5, 4, 2)).astype(np.float32)
    layer.build(x.shape)
    layer.masked_bias.assign([0.1, -0.2, 0.3])
    out = layer(x).numpy()
    expected = pixeltcl_reference(layer, x[0].astype(np.float64))
    assert out.shape == (1, 10, 8, 3)
    np.testing.assert_allclose(out[0], expected, atol=1e-4)
    # The filled pixels come from their neighbours only, so they are not zero.
    assert np.all(np.abs(out[0, 0::2, 1::2]) > 0)


@pytest.mark.parametrize("build", [
    lambda: models.build_generator("unet", image_size=32, upsampling="pixeltcl"),
    lambda: models.build_generator("resnet", image_size=32, num_blocks=2),
    lambda: models.build_generator("resnet18_unet", image_size=32),
    lambda: models.build_generator("encoder_unet", image_size=32, encoder="mobilenet_v2", base_filters=8),
    lambda: models.build_discriminator("patchgan", image_size=32, norm="spectral"),
])
def test_keras_save_and_load_give_identical_outputs(tmp_path, build):
    model = build()
    inputs = ([tf.random.uniform([2, 32, 32, 1], seed=1), tf.random.uniform([2, 32, 32, 2], seed=2)]
              if len(model.inputs) == 2 else tf.random.uniform([2, 32, 32, 1], seed=1))
    path = os.path.join(tmp_path, "model.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(loaded(inputs, training=False).numpy(),
                               model(inputs, training=False).numpy(), atol=1e-6)


def test_resnet18_encoder_loads_weights_from_a_user_file(tmp_path):
    encoder = resnet18_encoder(64)
    path = os.path.join(tmp_path, "resnet18.weights.h5")
    encoder.save_weights(path)
    g = resnet18_unet_generator(64, encoder_weights=path)
    for a, b in zip(g.get_layer("resnet18_encoder").weights, encoder.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    # ResNet-18 trunk: 11,176,512 parameters without the ImageNet classifier (+ BN statistics).
    assert sum(int(np.prod(w.shape)) for w in encoder.trainable_weights) == 11_176_512


@pytest.mark.parametrize("training", [True, False])
def test_fused_batchnorm_equals_keras_batchnorm(training):
    x = tf.random.normal([4, 6, 5, 8], seed=3) * 2.0 + 0.5
    fused = layers.FusedBatchNormalization(momentum=0.9, epsilon=1e-5)
    plain = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5)
    for layer in (fused, plain):
        layer.build(x.shape)
        layer.gamma.assign(tf.linspace(0.5, 1.5, 8))
        layer.beta.assign(tf.linspace(-1.0, 1.0, 8))
        layer.moving_mean.assign(tf.fill([8], 0.3))
        layer.moving_variance.assign(tf.fill([8], 2.0))
    np.testing.assert_allclose(fused(x, training=training).numpy(), plain(x, training=training).numpy(),
                               atol=1e-4)
    np.testing.assert_allclose(fused.moving_mean.numpy(), plain.moving_mean.numpy(), atol=1e-5)
    np.testing.assert_allclose(fused.moving_variance.numpy(), plain.moving_variance.numpy(), atol=1e-5)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        losses = [tf.reduce_sum(tf.sin(layer(x, training=training))) for layer in (fused, plain)]
    for a, b in zip(tape.gradient(losses[0], [x, fused.gamma, fused.beta]),
                    tape.gradient(losses[1], [x, plain.gamma, plain.beta])):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-4)


def test_batch_norm_uses_the_fused_kernel_on_one_replica():
    # Under several replicas it is Keras's synchronised BatchNorm: test_gans parity test.
    assert isinstance(layers.norm_layer("batch"), layers.FusedBatchNormalization)


@pytest.mark.parametrize("encoder", ["vgg16", "efficientnet_lite0"])  # keras.applications'; built here, with BN
def test_encoder_unet_loads_backbone_weights_exactly_from_a_file(tmp_path, encoder):
    keras.utils.set_random_seed(1)
    source = backbones.build_encoder(encoder, 64)
    rng = np.random.default_rng(0)  # not an initialiser's values: every weight drawn here
    for w in source.weights:
        w.assign(rng.normal(0.0, 0.05, w.shape).astype(np.float32) + (1.0 if "variance" in w.path else 0.0))
    path = os.path.join(tmp_path, f"{encoder}.weights.h5")
    source.save_weights(path)
    keras.utils.set_random_seed(2)
    g = models.build_generator("encoder_unet", image_size=64, encoder=encoder, encoder_weights=path, base_filters=8)
    loaded = backbones.find_encoder(g)
    assert loaded.name == backbones.ENCODER and len(loaded.weights) == len(source.weights) > 20
    for a, b in zip(loaded.weights, source.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    # Without the file: other (random) weights. A file of another backbone: a clear error.
    fresh = backbones.find_encoder(models.build_generator("encoder_unet", image_size=64, encoder=encoder,
                                                          base_filters=8))
    assert not np.array_equal(fresh.weights[0].numpy(), source.weights[0].numpy())
    other = "efficientnet_lite0" if encoder == "vgg16" else "vgg16"
    with warnings.catch_warnings(record=True) as caught:  # one line: not Keras's warning per layer first
        warnings.simplefilter("always")
        with pytest.raises(backbones.MissingEncoderWeights, match=f"not weights of {other}"):
            backbones.build_encoder(other, 64, path)
    assert [str(w.message)[:80] for w in caught] == []


def test_backbone_input_is_the_gray_photo_preprocessed_as_keras_applications_does():
    from skimage.color import lab2rgb

    l_values = np.array([0.0, 12.5, 50.0, 87.5, 100.0], np.float32)
    gray = lab2rgb(np.stack([l_values, 0 * l_values, 0 * l_values], -1)[None])[0, :, 0] * 255.0  # R = G = B
    l_norm = (l_values / 50.0 - 1.0).reshape(1, 1, 5, 1)
    rgb = np.repeat(gray.reshape(1, 1, 5, 1), 3, -1)
    expected = {"caffe": keras.applications.vgg16.preprocess_input(rgb.copy()),
                "tf": keras.applications.mobilenet_v2.preprocess_input(rgb.copy()),
                "raw": rgb}
    for mode, want in expected.items():
        got = backbones.GrayForBackbone(mode)(l_norm).numpy()
        np.testing.assert_allclose(got, want, atol=2e-3)


def test_efficientnet_lite0_has_no_download_and_says_where_its_weights_come_from():
    with pytest.raises(backbones.MissingEncoderWeights, match="bench.pretrained --lite0"):
        backbones.build_encoder("efficientnet_lite0", 64, "imagenet")


def test_max_filters_caps_the_encoder_unets_decoder_and_reduces_the_deepest_features():
    """--g_max_filters on encoder_unet: no decoder level wider than the cap, the 1280 features at
    1/32 reduced to it by a 1x1 convolution first; without a cap the network is unchanged."""
    capped = models.build_generator("encoder_unet", image_size=64, encoder="efficientnet_lite0", base_filters=32,
                                    max_filters=128)
    assert tuple(capped.get_layer("reduce_conv").kernel.shape) == (1, 1, 1280, 128)
    convolutions = (keras.layers.Conv2D, keras.layers.Conv2DTranspose)
    decoder = [layer for layer in capped.layers if isinstance(layer, convolutions)]
    # reduce, up1-5 (upsampling, fusion), ab
    assert [layer.filters for layer in decoder] == [128, 128, 128, 128, 128, 64, 64, 32, 32, 16, 16, 2]
    uncapped = models.build_generator("encoder_unet", image_size=64, encoder="efficientnet_lite0", base_filters=32)
    assert "reduce_conv" not in [layer.name for layer in uncapped.layers]
    assert uncapped.get_layer("up1_convT").filters == 256
    assert capped.count_params() < 0.5 * uncapped.count_params()


def test_half_precision_storage_rounds_every_weight_and_halves_the_file(tmp_path):
    """storage.save_half: the same network with each float32 weight rounded to float16 (exactly
    numpy's rounding), loaded back as float32 variables; about half the file; non-float state
    (the dropout's seed) kept as it was; a weight beyond float16's range is refused."""
    from tfcolor.models import storage

    keras.utils.set_random_seed(3)
    model = models.build_generator("unet", image_size=32, base_filters=16)  # BatchNorm, dropout
    for variable in model.weights:  # trained-looking values, not initial zeros and ones
        variable.assign(np.random.default_rng(0).normal(0, 0.3, variable.shape).astype(np.float32)
                        + (1.0 if "variance" in variable.path else 0.0))
    full, half = os.path.join(tmp_path, "full.keras"), os.path.join(tmp_path, "half.keras")
    model.save(full)
    storage.save_half(full, half)
    loaded = models.load_generator_file(half)
    assert [v.path for v in loaded.weights] == [v.path for v in model.weights]
    for mine, theirs in zip(model.weights, loaded.weights):
        assert theirs.dtype == "float32"
        expected = mine.numpy().astype(np.float16).astype(np.float32)
        np.testing.assert_array_equal(theirs.numpy(), expected)
        assert np.any(expected != mine.numpy())  # rounding happened: not a copy of the original
    assert "float16" in storage.stored_dtypes(half) and "float32" not in storage.stored_dtypes(half)
    assert 0.45 < os.path.getsize(half) / os.path.getsize(full) < 0.55
    assert {info.compress_type for info in zipfile.ZipFile(half).infolist()} == {zipfile.ZIP_DEFLATED}
    assert storage.holds_half(loaded) and not storage.holds_half(model)
    for variable in model.weights:  # the original network with rounded weights computes the same
        variable.assign(variable.numpy().astype(np.float16).astype(np.float32))
    x = tf.random.uniform([2, 32, 32, 1], -1, 1, seed=4)
    np.testing.assert_allclose(loaded(x, training=False).numpy(), model(x, training=False).numpy(), atol=1e-6)
    model.weights[0].assign(np.full(model.weights[0].shape, 7e4, np.float32))
    model.save(full)
    with pytest.raises(ValueError, match="does not fit float16"):
        storage.save_half(full, half)
