"""The three GAN objectives, as keras.Model subclasses sharing one train_step."""

from tfcolor.gans.base import ColorGAN
from tfcolor.gans.pix2pix import Pix2Pix
from tfcolor.gans.wgan import WGAN
from tfcolor.gans.wgan_gp import WGANGP

OBJECTIVES = {"pix2pix": Pix2Pix, "wgan": WGAN, "wgan_gp": WGANGP}


def build_gan(name, generator, discriminator, **kwargs):
    if name not in OBJECTIVES:
        raise ValueError(f"unknown GAN objective {name!r}; known: {', '.join(sorted(OBJECTIVES))}")
    return OBJECTIVES[name](generator, discriminator, **kwargs)


__all__ = ["ColorGAN", "Pix2Pix", "WGAN", "WGANGP", "OBJECTIVES", "build_gan"]
