"""The three GAN objectives, as keras.Model subclasses sharing one train_step (base.py).

The names live in tfcolor.gans.registry; the classes are imported on first use, so that the
registry can be read without TensorFlow.
"""

import importlib

from tfcolor.gans.registry import GAN_MODES, OBJECTIVES

_CLASSES = {"ColorGAN": "base", "Pix2Pix": "pix2pix", "WGAN": "wgan", "WGANGP": "wgan_gp"}


def build_gan(name, generator, discriminator, **kwargs):
    return OBJECTIVES.build(name, generator=generator, discriminator=discriminator, **kwargs)


def __getattr__(name):
    if name in _CLASSES:
        return getattr(importlib.import_module(f"tfcolor.gans.{_CLASSES[name]}"), name)
    raise AttributeError(f"module 'tfcolor.gans' has no attribute {name!r}")


__all__ = ["ColorGAN", "Pix2Pix", "WGAN", "WGANGP", "GAN_MODES", "OBJECTIVES", "build_gan"]
