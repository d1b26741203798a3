"""pix2pix (Isola et al. 2017): conditional GAN + lambda * L1, lambda = 100.

G minimises ``adv(D(L, G(L))) + lambda * |ab - G(L)|_1``; D minimises
``0.5 * [BCE(1, D(L, ab)) + BCE(0, D(L, G(L)))]`` (``gan_mode='vanilla'``) or
the least-squares version (``'lsgan'``). Adam(2e-4, beta_1=0.5) for both.
"""

from tfcolor.core.registry import check_choice
from tfcolor.gans import losses
from tfcolor.gans.base import ColorGAN
from tfcolor.gans.registry import GAN_MODES


class Pix2Pix(ColorGAN):
    OPTIMIZER = ("adam", 2e-4, 0.5, 0.999)

    def __init__(self, generator, discriminator, l1_weight=100.0, gan_mode="vanilla",
                 from_logits=True, **kwargs):
        check_choice("gan_mode", gan_mode, GAN_MODES)
        super().__init__(generator, discriminator, l1_weight=l1_weight, n_critic=1, **kwargs)
        self.gan_mode = gan_mode
        self.from_logits = from_logits

    def discriminator_loss(self, real_outputs, fake_outputs):
        if self.gan_mode == "lsgan":
            return losses.least_squares_discriminator_loss(real_outputs, fake_outputs)
        return losses.vanilla_discriminator_loss(real_outputs, fake_outputs, self.from_logits)

    def generator_adversarial_loss(self, fake_outputs):
        if self.gan_mode == "lsgan":
            return losses.least_squares_generator_loss(fake_outputs)
        return losses.vanilla_generator_loss(fake_outputs, self.from_logits)
