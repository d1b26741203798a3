"""bench/quality.py's recipes: every recipe's flags, for its speed measurement (1 epoch) and for
its run, make a valid training configuration with the objective the table names."""

import json
import os
import subprocess
import sys

from tests.conftest import REPO

PARSE_RECIPES = """
import argparse, json, sys
from absl import flags
from bench import quality
from tfcolor import train as entry
args = argparse.Namespace(image_size=64, seed=0, perceptual_weights="vgg.npz")
out = {}
for name in quality.RECIPES:
    for epochs in (1, 5):
        flags.FLAGS.unparse_flags()
        flags.FLAGS(["train", *quality.recipe_flags(name, args, "data", "model", epochs)])
        c = entry.config_from_flags().validate()
        out[f"{name}/{epochs}"] = [c.objective.gan, c.run.epochs, c.objective.pretrain_epochs,
                                   c.objective.colorfulness_weight, c.objective.rebalance_l1]
print(json.dumps(out))
"""


def test_every_recipe_is_a_valid_configuration_for_calibration_and_run():
    env = dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run([sys.executable, "-c", PARSE_RECIPES], cwd=REPO, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    parsed = json.loads(result.stdout.splitlines()[-1])
    assert parsed["pix2pix/5"] == ["pix2pix", 5, 0, 0.0, False]
    assert parsed["wgan_gp/5"][:3] == ["wgan_gp", 5, 0]
    # The regressions pretrain (no GAN) for every epoch, the 1-epoch speed measurement included.
    assert parsed["l1/1"] == ["pix2pix", 1, 1, 0.0, False] and parsed["l1/5"] == ["pix2pix", 5, 5, 0.0, False]
    assert parsed["l1_colorful/5"] == ["pix2pix", 5, 5, 10.0, False]
    assert parsed["pix2pix_rebalanced/5"][4] is True
