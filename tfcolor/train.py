"""Trains a colorization GAN on Lab TFRecords made by data_prep.

Every setting is a flag; each seed setup is a flagfile in experiments/. A run
started again on the same --model_dir resumes where it stopped.

Example usage:

    python -m data_prep.samples --output_dir=runs/quickstart/data
    python -m tfcolor.train --flagfile=experiments/quickstart.flags
    python -m tfcolor.train --flagfile=experiments/pix2pix.flags \\
        --train=data/coco256 --model_dir=runs/pix2pix_coco

--model_dir receives: flags.txt (a flagfile that reruns the experiment),
config.json, checkpoints/, logs/ (TensorBoard), losses.csv, epochs.csv,
losses.png, samples/epoch_NNN.png (gray | generated | truth), summary.json and
generator.keras (the final generator, for tfcolor.export).
"""

import dataclasses
import os
import sys
import warnings

from absl import app, flags, logging

from tfcolor.config import DataConfig, ModelConfig, ObjectiveConfig, OptimConfig, RunConfig, TrainConfig

SECTIONS = {"data": DataConfig, "model": ModelConfig, "objective": ObjectiveConfig,
            "optim": OptimConfig, "run": RunConfig}
HELP = {
    "train": "Training data: a prepared dataset directory (with manifest.json) or TFRecord glob(s).",
    "val": "Validation TFRecord glob(s); default: the val (or test) split of the --train directory.",
    "image_size": "Training crop size in pixels.",
    "jitter_size": "pix2pix random jitter: resize to this size before the random crop (0: off).",
    "flip": "Random horizontal flips.",
    "shuffle_buffer": "Records in the shuffle buffer.",
    "val_images": "Fixed validation images in the per-epoch sample grid.",
    "generator": "unet | unet_small | resnet | resnet18_unet.",
    "g_filters": "Generator base filters.",
    "g_norm": "Generator norm: batch | instance | layer | spectral | none.",
    "upsampling": "Generator upsampling: transpose | resize | pixeltcl.",
    "dropout": "U-Net decoder dropout (the noise z of pix2pix).",
    "num_downs": "U-Net levels (0: log2(image_size)).",
    "resnet_blocks": "Residual blocks of the resnet generator (6 or 9).",
    "encoder_weights": "resnet18_unet: weights file for the ResNet-18 encoder (never downloaded).",
    "init": "Weight init: normal (N(0, 0.02)) | xavier.",
    "discriminator": "patchgan | pixelgan.",
    "d_filters": "Discriminator base filters.",
    "d_layers": "PatchGAN stride-2 layers (1: 16x16, 3: 70x70, 5: 286x286 patches).",
    "d_norm": "Discriminator norm: batch | instance | layer | spectral | none.",
    "d_activation": "Discriminator output: none (logits) | tanh | sigmoid.",
    "gan": "Objective: pix2pix | wgan | wgan_gp.",
    "gan_mode": "pix2pix adversarial loss: vanilla | lsgan.",
    "l1_weight": "lambda of the L1 term in the generator loss.",
    "n_critic": "Critic updates per generator update (0: 1 for pix2pix, 5 for the WGANs).",
    "clip_value": "WGAN weight clipping bound c.",
    "gp_weight": "WGAN-GP lambda_GP.",
    "pretrain_epochs": "Epochs of generator-only pretraining (the reconstruction terms, no GAN) before the GAN; "
                       "equal to --epochs: no GAN at all (a regression run).",
    "rebalance_l1": "Class-rebalanced L1 (Zhang et al. 2016): each pixel weighted by the rarity of its true "
                    "colour in the training set's ab histogram, against sepia.",
    "rebalance_lambda": "Rebalancing: mix of the colour prior with a uniform prior (Zhang et al.: 0.5; 1: "
                        "every weight 1, plain L1).",
    "colorfulness_weight": "Weight of the colourfulness term: the generated photo's colourfulness below the "
                           "real one's, / 100 (0: off).",
    "perceptual_weight": "Weight of the perceptual term: L1 between VGG16 relu1_2, relu2_2 and relu3_3 "
                         "features of generated and real RGB (0: off).",
    "perceptual_weights": "VGG16 weights for --perceptual_weight: an .npz with torchvision's VGG16 "
                          "(lpips_vgg.npz from python -m tfcolor.convert_lpips); never downloaded.",
    "optimizer": "adam | rmsprop | sgd (default: the objective's paper recipe).",
    "g_lr": "Generator learning rate (0: the objective's default).",
    "d_lr": "Discriminator learning rate (0: the objective's default).",
    "beta1": "Adam beta_1 (<0: the objective's default).",
    "beta2": "Adam beta_2 (<0: the objective's default).",
    "schedule": "Learning-rate schedule: constant | linear (constant, then linear decay to 0) | cosine.",
    "decay_epochs": "linear schedule: epochs of decay at the end (0: half of --epochs).",
    "model_dir": "Folder for checkpoints, logs, figures and the final generator; reruns resume.",
    "epochs": "Training epochs (L1 pretraining included).",
    "steps_per_epoch": "Generator steps per epoch (0: training records // batch size).",
    "batch_size": "Global batch size (split across replicas).",
    "seed": "Random seed; >= 0 also makes ops deterministic, so a CPU run repeats step for step.",
    "precision": "float32 | mixed_float16 (loss scaling) | mixed_bfloat16.",
    "strategy": "auto (mirrored on >1 GPU) | one_device | mirrored | multi_worker (TF_CONFIG).",
    "jit_compile": "XLA for the whole train step: auto (Keras's choice: on when a GPU is present) | "
                   "true | false. On the CPU XLA is slower, and true is refused with MirroredStrategy.",
    "virtual_devices": "Split the first GPU (else the CPU) into this many logical devices and mirror "
                       "over them: MirroredStrategy on a machine with one GPU.",
    "virtual_device_mb": "GPU memory of each virtual device (MiB).",
    "init_from": "Fine-tune: start a new run from an earlier run's networks (its --model_dir: latest "
                 "checkpoint, generator and discriminator) or from a generator.keras (generator only).",
    "checkpoint_every": "Generator steps between checkpoints (also one per epoch).",
    "keep_checkpoints": "Checkpoints kept.",
    "log_every": "Generator steps between logged loss points.",
    "val_steps": "Validation batches per epoch (0: the whole validation set).",
}


def define_flags():
    for cls in SECTIONS.values():
        for field in dataclasses.fields(cls):
            default = field.default
            define = {bool: flags.DEFINE_bool, int: flags.DEFINE_integer,
                      float: flags.DEFINE_float, str: flags.DEFINE_string}[type(default)]
            define(field.name, default, HELP[field.name])


define_flags()
FLAGS = flags.FLAGS


def config_from_flags():
    sections = {name: cls(**{f.name: FLAGS[f.name].value for f in dataclasses.fields(cls)})
                for name, cls in SECTIONS.items()}
    return TrainConfig(**sections)


def flagfile_text():
    """Every training flag with its value: a flagfile that reruns this experiment."""
    lines = [FLAGS[f.name].serialize() for cls in SECTIONS.values() for f in dataclasses.fields(cls)]
    return "\n".join(line for line in lines if line) + "\n"


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    config = config_from_flags()
    try:
        config.validate()
    except ValueError as e:
        raise app.UsageError(str(e)) from e
    from tfcolor.training import builders, loop  # TensorFlow starts here

    logging.set_verbosity(logging.WARNING)  # keep checkpoint chatter out of the progress output
    # Keras says this when a finite validation set ends, which is how validation works here.
    warnings.filterwarnings("ignore", message="Your input ran out of data")

    devices = None
    if config.run.virtual_devices > 1:
        from tfcolor.devices import split_first_device

        _, devices = split_first_device(config.run.virtual_devices, config.run.virtual_device_mb)
    strategy = builders.make_strategy(config.run.strategy, devices)
    if config.run.jit_compile == "true" and builders.mirrors_on_cpu(strategy):
        raise app.UsageError("--jit_compile with MirroredStrategy on CPU devices is not supported by "
                             "TensorFlow: use one device (--virtual_devices=1) or GPUs")
    if builders.is_chief(strategy):
        os.makedirs(config.run.model_dir, exist_ok=True)
        with open(os.path.join(config.run.model_dir, "flags.txt"), "w") as f:
            f.write(flagfile_text())
    try:
        loop.run_training(config, strategy, log=lambda m: print(m, flush=True))
    except (builders.DataError, loop.TrainingDiverged) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    app.run(main)
