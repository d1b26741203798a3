"""Registries: one validator for every name, entries that load, options that fit their builders."""

import dataclasses
import inspect
import subprocess
import sys

import pytest

from tfcolor.core.registry import Entry, Registry, check_choice
from tfcolor.gans.registry import OBJECTIVES
from tfcolor.models.registry import DISCRIMINATORS, GENERATORS
from tfcolor.training.config import ModelConfig, ObjectiveConfig, TrainConfig


def test_check_choice_names_what_is_known():
    assert check_choice("norm", "batch", ("batch", "none")) == "batch"
    with pytest.raises(ValueError, match=r"^unknown norm 'weight'; known: batch, none$"):
        check_choice("norm", "weight", ("batch", "none"))
    with pytest.raises(ValueError, match=r"known: '', adam$"):
        check_choice("--optimizer", "adamw", ("", "adam"))


def test_a_registry_loads_lazily_and_maps_config_fields_to_keywords():
    registry = Registry("thing", {"join": Entry("os.path:join", "joins", {"b": "second"})})
    assert registry.names() == ["join"] and registry.help_text() == "join (joins)"

    @dataclasses.dataclass
    class Config:
        second: str = "y"

    kwargs = registry.kwargs_from("join", Config())
    assert kwargs == {"b": "y"} and registry.load("join")("x", kwargs["b"]).endswith("x/y")
    with pytest.raises(ValueError, match="unknown thing 'split'; known: join"):
        registry.load("split")


@pytest.mark.parametrize("registry, config", [(GENERATORS, ModelConfig), (DISCRIMINATORS, ModelConfig),
                                              (OBJECTIVES, ObjectiveConfig)])
def test_every_entry_loads_and_its_options_fit_its_builder(registry, config):
    fields = {f.name for f in dataclasses.fields(config)}
    for name in registry.names():
        entry = registry[name]
        parameters = inspect.signature(entry.load()).parameters
        takes_kwargs = any(p.kind is p.VAR_KEYWORD for p in parameters.values())
        for keyword, field in entry.options.items():
            assert field in fields, f"{name}: option {keyword} reads a field {config.__name__} lacks: {field}"
            assert keyword in parameters or takes_kwargs, f"{name}: its builder takes no {keyword}"


def test_config_validation_asks_the_registries_and_their_checks():
    config = TrainConfig()
    config.data.train, config.run.model_dir = "data", "runs/x"
    config.validate()
    config.model.generator = "unet++"
    with pytest.raises(ValueError, match="unknown --generator 'unet\\+\\+'; known: encoder_unet, resnet, resnet18_unet, unet, unet_small"):
        config.validate()
    config.model.generator, config.data.image_size = "unet", 96
    with pytest.raises(ValueError, match="power-of-two --image_size, got 96"):
        config.validate()
    config.data.image_size, config.objective.gan = 64, "wgan_gp"
    with pytest.raises(ValueError, match="needs a critic without BatchNorm"):
        config.validate()


def test_help_and_config_import_no_tensorflow():
    code = ("import sys, tfcolor.train, tfcolor.training.config, tfcolor.models, tfcolor.gans; "
            "print('tensorflow' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "False", result.stderr[-2000:]
