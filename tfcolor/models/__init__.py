"""Generators and discriminators, looked up by name.

>>> from tfcolor import models
>>> g = models.build_generator("unet", image_size=256)
>>> d = models.build_discriminator("patchgan", image_size=256, n_layers=3)
"""

from tfcolor.models.discriminators import patchgan_discriminator, pixelgan_discriminator
from tfcolor.models.resnet import resnet18_unet_generator, resnet_generator
from tfcolor.models.unet import small_unet_generator, unet_generator

GENERATORS = {
    "unet": unet_generator,
    "unet_small": small_unet_generator,
    "resnet": resnet_generator,
    "resnet18_unet": resnet18_unet_generator,
}
DISCRIMINATORS = {
    "patchgan": patchgan_discriminator,
    "pixelgan": pixelgan_discriminator,
}


def _lookup(registry, kind, name):
    if name not in registry:
        raise ValueError(f"unknown {kind} {name!r}; known: {', '.join(sorted(registry))}")
    return registry[name]


def build_generator(name, **kwargs):
    return _lookup(GENERATORS, "generator", name)(**kwargs)


def build_discriminator(name, **kwargs):
    return _lookup(DISCRIMINATORS, "discriminator", name)(**kwargs)
