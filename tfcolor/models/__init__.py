"""Generators and discriminators, looked up by name (the names: tfcolor.models.registry).

>>> from tfcolor import models
>>> g = models.build_generator("unet", image_size=256)
>>> d = models.build_discriminator("patchgan", image_size=256, n_layers=3)
"""

from tfcolor.models.registry import DISCRIMINATORS, GENERATORS

_CUSTOM_LAYER_MODULES = ("layers", "matmul_conv", "pixeltcl", "subpixel", "backbones", "classes", "hint_inputs")


def build_generator(name, **kwargs):
    return GENERATORS.build(name, **kwargs)


def build_discriminator(name, **kwargs):
    return DISCRIMINATORS.build(name, **kwargs)


def register_custom_layers():
    """Imports the modules whose layers Keras must know to load a saved tfcolor network."""
    import importlib

    for module in _CUSTOM_LAYER_MODULES:
        importlib.import_module(f"tfcolor.models.{module}")


def load_generator_file(path):
    """A generator saved as ``.keras`` (tfcolor's custom layers registered first)."""
    import keras

    register_custom_layers()
    return keras.models.load_model(path, compile=False)
