"""The names of tfcolor's networks and layer options, and where each network is built.

Adding a generator: write its builder (``image_size``, ``norm``, ``init``, ``upsampling`` and
its own keywords) in a module of this package and add one entry below; its ``options`` say
which training flags feed which keywords. Nothing else changes: ``--generator`` validation,
``--help`` and the training builders read this table. Importing it imports no TensorFlow.
"""

from tfcolor.core.registry import Entry, Registry

NORMS = ("batch", "instance", "layer", "spectral", "none")
INITS = ("normal", "xavier")
UPSAMPLINGS = ("transpose", "resize", "pixeltcl")
D_ACTIVATIONS = ("none", "tanh", "sigmoid")
# Backbones of --generator=encoder_unet (keras.applications and EfficientNet-Lite0; the stage
# taps: models/backbones.py).
ENCODERS = ("vgg16", "resnet50", "mobilenet_v2", "efficientnet_b0", "efficientnet_lite0")
# The generator's ab output: tanh regression, or colour classes decoded by the annealed mean
# (models/classes.py) at Zhang et al.'s temperature.
AB_OUTPUTS = ("regression", "classes")
CLASS_TEMPERATURE = 0.38
# The generators that take user hints (--hints: models/hint_inputs.py).
HINT_GENERATORS = ("unet", "unet_small", "encoder_unet")


def _power_of_two(config):
    size = config.data.image_size
    if not config.model.num_downs and size & (size - 1):
        return f"--generator=unet needs a power-of-two --image_size, got {size}"
    return None


def _divisible_by_32(config):
    if config.data.image_size % 32:
        return f"--generator={config.model.generator} needs --image_size divisible by 32"
    if config.model.encoder_weights == "imagenet" and config.model.generator == "resnet18_unet":
        return ("--generator=resnet18_unet has no downloadable ImageNet weights: pass a weights file, or use "
                "--generator=encoder_unet --encoder=resnet50")
    return None


def _encoder_checks(config):
    if config.model.encoder not in ENCODERS:
        return f"--generator=encoder_unet needs --encoder, one of: {', '.join(ENCODERS)}"
    return _divisible_by_32(config)


_UNET_OPTIONS = {"base_filters": "g_filters", "max_filters": "g_max_filters", "dropout": "dropout",
                 "num_downs": "num_downs"}

GENERATORS = Registry("generator", {
    "unet": Entry("tfcolor.models.unet:unet_generator",
                  "pix2pix U-Net, log2(size) levels", _UNET_OPTIONS, _power_of_two),
    "unet_small": Entry("tfcolor.models.unet:small_unet_generator",
                        "4-level U-Net for 32 px", _UNET_OPTIONS),
    "resnet": Entry("tfcolor.models.resnet:resnet_generator",
                    "Johnson et al. ResNet", {"base_filters": "g_filters", "num_blocks": "resnet_blocks"}),
    "resnet18_unet": Entry("tfcolor.models.resnet:resnet18_unet_generator",
                           "U-Net on a ResNet-18 encoder", {"encoder_weights": "encoder_weights"},
                           _divisible_by_32),
    "encoder_unet": Entry("tfcolor.models.backbones:encoder_unet_generator",
                          "U-Net on a keras.applications encoder (--encoder)",
                          {"encoder": "encoder", "encoder_weights": "encoder_weights", "base_filters": "g_filters",
                           "max_filters": "g_max_filters"},
                          _encoder_checks),
})

DISCRIMINATORS = Registry("discriminator", {
    "patchgan": Entry("tfcolor.models.discriminators:patchgan_discriminator",
                      "PatchGAN, --d_layers sets the patch", {"n_layers": "d_layers"}),
    "pixelgan": Entry("tfcolor.models.discriminators:pixelgan_discriminator", "1x1 PixelGAN"),
})
