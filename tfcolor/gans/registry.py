"""The names of the GAN objectives and where each is defined (imports no TensorFlow).

Adding an objective: subclass ``tfcolor.gans.base.ColorGAN`` in a module of this package and
add one entry below; its ``options`` say which training flags feed which keywords.
"""

from tfcolor.core.registry import Entry, Registry

GAN_MODES = ("vanilla", "lsgan")  # pix2pix's adversarial loss


def _pix2pix_checks(config):
    if config.objective.n_critic > 1:
        return "--n_critic applies to --gan=wgan or wgan_gp; pix2pix updates D once per step"
    return None


def _critic_without_batchnorm(config):
    if config.model.d_norm == "batch":
        return ("--gan=wgan_gp needs a critic without BatchNorm (the gradient penalty is per "
                "sample): pass --d_norm=layer, instance, spectral or none")
    return None


OBJECTIVES = Registry("objective", {
    "pix2pix": Entry("tfcolor.gans.pix2pix:Pix2Pix", "cGAN + lambda L1, Adam 2e-4",
                     {"gan_mode": "gan_mode"}, _pix2pix_checks),
    "wgan": Entry("tfcolor.gans.wgan:WGAN", "weight clipping, RMSprop 5e-5, n_critic 5",
                  {"clip_value": "clip_value"}),
    "wgan_gp": Entry("tfcolor.gans.wgan_gp:WGANGP", "gradient penalty, Adam 1e-4, n_critic 5",
                     {"gp_weight": "gp_weight"}, _critic_without_batchnorm),
})
