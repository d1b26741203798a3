"""Plain configuration objects for training, each field with its default and its help text.

The flags of ``tfcolor.train`` are generated from these fields (one flag per field, same name);
libraries take the objects. ``TrainConfig.validate()`` catches inconsistent settings before
anything is built, with messages that say what to change. Importing this module imports no
TensorFlow: the names come from the registries (tfcolor.models.registry, tfcolor.gans.registry).
"""

import dataclasses

from tfcolor.core.registry import check_choice
from tfcolor.gans.registry import GAN_MODES, OBJECTIVES
from tfcolor.models.registry import (AB_OUTPUTS, CLASS_TEMPERATURE, D_ACTIVATIONS, DISCRIMINATORS, ENCODERS,
                                     GENERATORS, HINT_GENERATORS, INITS, NORMS, UPSAMPLINGS)

SCHEDULES = ("constant", "linear", "cosine")
OPTIMIZERS = ("", "adam", "rmsprop", "sgd")
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
STRATEGIES = ("auto", "one_device", "mirrored", "multi_worker")
JIT_COMPILE = ("auto", "true", "false")


def _names(choices):
    return " | ".join(choices)


def setting(default, help, choices=None):  # noqa: A002 (the flag's help)
    """A config field with its help text (and the names it accepts, checked by validate)."""
    return dataclasses.field(default=default, metadata={"help": help, "choices": choices})


@dataclasses.dataclass
class DataConfig:
    train: str = setting("", "Training data: a prepared dataset directory (with manifest.json) or TFRecord glob(s).")
    val: str = setting("", "Validation TFRecord glob(s); default: the val (or test) split of the --train directory.")
    image_size: int = setting(256, "Training crop size in pixels.")
    jitter_size: int = setting(0, "pix2pix random jitter: resize to this size before the random crop (0: off).")
    flip: bool = setting(True, "Random horizontal flips.")
    shuffle_buffer: int = setting(1000, "Records in the shuffle buffer.")
    val_images: int = setting(8, "Fixed validation images in the per-epoch sample grid (0: no grid).")


@dataclasses.dataclass
class ModelConfig:
    generator: str = setting("unet", "Generator: " + GENERATORS.help_text() + ".", GENERATORS.names())
    g_filters: int = setting(64, "Generator base filters.")
    g_max_filters: int = setting(512, "Most filters of one U-Net level (unet, unet_small, encoder_unet; pix2pix: "
                                 "512): the deepest levels hold most of the weights.")
    g_norm: str = setting("batch", f"Generator norm: {_names(NORMS)}.", NORMS)
    upsampling: str = setting("transpose", f"Generator upsampling: {_names(UPSAMPLINGS)}.", UPSAMPLINGS)
    dropout: float = setting(0.5, "U-Net decoder dropout (the noise z of pix2pix).")
    num_downs: int = setting(0, "U-Net levels (0: log2(image_size); 4 for unet_small).")
    resnet_blocks: int = setting(9, "Residual blocks of the resnet generator (6 or 9).")
    encoder: str = setting("", f"encoder_unet: the pretrained encoder, {_names(ENCODERS)}.", ("",) + ENCODERS)
    encoder_weights: str = setting("", "Encoder weights of encoder_unet and resnet18_unet: imagenet (Keras downloads "
                                       "them; encoder_unet only) | PATH of a weights file (offline) | none (random).")
    freeze_encoder_epochs: int = setting(0, "Epochs at the start during which the encoder's weights stay fixed "
                                            "(its BatchNorm in inference mode); the decoder learns first.")
    ab_output: str = setting("regression", "Generator output: regression (ab through tanh) | classes (a probability "
                                           "over ab colour classes, decoded by the annealed mean: Zhang et al. 2016; "
                                           "trained with --class_weight).", AB_OUTPUTS)
    class_temperature: float = setting(CLASS_TEMPERATURE, "--ab_output=classes: annealed-mean temperature (1: the "
                                                          "mean colour, dull; towards 0: the likeliest, vivid).")
    hints: bool = setting(False, "A hint generator (Zhang et al. 2017): it also takes a map of user colour hints "
                                 "and its mask, trained with simulated hints (tfcolor.core.hints); unet, "
                                 "unet_small and encoder_unet.")
    init: str = setting("normal", "Weight init: normal (N(0, 0.02)) | xavier.", INITS)
    discriminator: str = setting("patchgan", "Discriminator: " + DISCRIMINATORS.help_text() + ".",
                                 DISCRIMINATORS.names())
    d_filters: int = setting(64, "Discriminator base filters.")
    d_layers: int = setting(3, "PatchGAN stride-2 layers (1: 16x16, 3: 70x70, 5: 286x286 patches).")
    d_norm: str = setting("batch", f"Discriminator norm: {_names(NORMS)}.", NORMS)
    d_activation: str = setting("none", "Discriminator output: none (logits) | tanh | sigmoid.", D_ACTIVATIONS)


@dataclasses.dataclass
class ObjectiveConfig:
    gan: str = setting("pix2pix", "Objective: " + OBJECTIVES.help_text() + ".", OBJECTIVES.names())
    gan_mode: str = setting("vanilla", f"pix2pix adversarial loss: {_names(GAN_MODES)}.", GAN_MODES)
    l1_weight: float = setting(100.0, "lambda of the L1 term in the generator loss.")
    n_critic: int = setting(0, "Critic updates per generator update (0: 1 for pix2pix, 5 for the WGANs).")
    clip_value: float = setting(0.01, "WGAN weight clipping bound c.")
    gp_weight: float = setting(10.0, "WGAN-GP lambda_GP.")
    pretrain_epochs: int = setting(0, "Epochs of generator-only pretraining (the reconstruction terms, no GAN) "
                                      "before the GAN; equal to --epochs: no GAN at all (a regression run).")
    rebalance_l1: bool = setting(False, "Class-rebalanced L1 (Zhang et al. 2016): each pixel weighted by the rarity "
                                        "of its true colour in the training set's ab histogram, against sepia.")
    rebalance_lambda: float = setting(0.5, "Rebalancing: mix of the colour prior with a uniform prior (Zhang et al.: "
                                           "0.5; 1: every weight 1, plain L1).")
    class_weight: float = setting(1.0, "--ab_output=classes: weight of the cross-entropy over the colour classes "
                                       "(Zhang et al.'s loss alone: with --l1_weight=0).")
    rebalance_classes: bool = setting(True, "--ab_output=classes: weight each pixel's cross-entropy by the rarity of "
                                            "its true colour (the colour prior of --rebalance_l1).")
    colorfulness_weight: float = setting(0.0, "Weight of the colourfulness term: the generated photo's "
                                              "colourfulness below the real one's, / 100 (0: off).")
    perceptual_weight: float = setting(0.0, "Weight of the perceptual term: L1 between VGG16 relu1_2, relu2_2 and "
                                            "relu3_3 features of generated and real RGB (0: off).")
    perceptual_weights: str = setting("", "VGG16 weights for --perceptual_weight: an .npz with torchvision's VGG16 "
                                          "(lpips_vgg.npz from python -m tfcolor.convert_lpips); never downloaded.")


@dataclasses.dataclass
class OptimConfig:
    optimizer: str = setting("", "adam | rmsprop | sgd (default: the objective's paper recipe).", OPTIMIZERS)
    g_lr: float = setting(0.0, "Generator learning rate (0: the objective's default).")
    d_lr: float = setting(0.0, "Discriminator learning rate (0: the objective's default).")
    beta1: float = setting(-1.0, "Adam beta_1 (<0: the objective's default).")
    beta2: float = setting(-1.0, "Adam beta_2 (<0: the objective's default).")
    schedule: str = setting("constant", "Learning-rate schedule: constant | linear (constant, then linear decay "
                                        "to 0) | cosine.", SCHEDULES)
    decay_epochs: int = setting(0, "linear schedule: epochs of decay at the end (0: half of --epochs).")
    ema_decay: float = setting(0.0, "Exponential moving average of the generator's weights (e.g. 0.999; 0: off): "
                                    "validation, sample grids, generator.keras and exports use the average; the "
                                    "checkpoints keep both.")


@dataclasses.dataclass
class RunConfig:
    model_dir: str = setting("", "Folder for checkpoints, logs, figures and the final generator; reruns resume.")
    epochs: int = setting(10, "Training epochs (L1 pretraining included).")
    steps_per_epoch: int = setting(0, "Generator steps per epoch (0: training records // batch size).")
    batch_size: int = setting(1, "Global batch size (split across replicas).")
    seed: int = setting(-1, "Random seed; >= 0 also makes ops deterministic, so a CPU run repeats step for step.")
    precision: str = setting("float32", "float32 | mixed_float16 (loss scaling) | mixed_bfloat16.", PRECISIONS)
    strategy: str = setting("auto", "auto (mirrored on >1 GPU) | one_device | mirrored | multi_worker (TF_CONFIG).",
                            STRATEGIES)
    jit_compile: str = setting("auto", "XLA for the whole train step: auto (Keras's choice: on when a GPU is "
                                       "present) | true | false. On the CPU XLA is slower, and true is refused with "
                                       "MirroredStrategy.", JIT_COMPILE)
    virtual_devices: int = setting(1, "Split the first GPU (else the CPU) into this many logical devices and mirror "
                                      "over them: MirroredStrategy on a machine with one GPU.")
    virtual_device_mb: int = setting(16384, "GPU memory of each virtual device (MiB).")
    init_from: str = setting("", "Fine-tune: start a new run from an earlier run's networks (its --model_dir: "
                                 "latest checkpoint, generator and discriminator) or from a generator.keras "
                                 "(generator only).")
    checkpoint_every: int = setting(500, "Generator steps between checkpoints (also one per epoch).")
    keep_checkpoints: int = setting(3, "Checkpoints kept.")
    log_every: int = setting(50, "Generator steps between logged loss points.")
    val_steps: int = setting(0, "Validation batches per epoch (0: the whole validation set).")


SECTIONS = {"data": DataConfig, "model": ModelConfig, "objective": ObjectiveConfig,
            "optim": OptimConfig, "run": RunConfig}


@dataclasses.dataclass
class TrainConfig:
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    objective: ObjectiveConfig = dataclasses.field(default_factory=ObjectiveConfig)
    optim: OptimConfig = dataclasses.field(default_factory=OptimConfig)
    run: RunConfig = dataclasses.field(default_factory=RunConfig)

    def validate(self):
        """Raises ValueError naming the first inconsistent setting."""
        m, o, r, d, opt = self.model, self.objective, self.run, self.data, self.optim
        for section in SECTIONS:
            values = getattr(self, section)
            for field in dataclasses.fields(values):
                if field.metadata.get("choices") is not None:
                    check_choice(f"--{field.name}", getattr(values, field.name), field.metadata["choices"])
        if not d.train:
            raise ValueError("--train is required: a prepared dataset directory or a TFRecord glob")
        if not r.model_dir:
            raise ValueError("--model_dir is required")
        for entry in (GENERATORS[m.generator], DISCRIMINATORS[m.discriminator], OBJECTIVES[o.gan]):
            message = entry.check(self) if entry.check else None
            if message:
                raise ValueError(message)
        if not 0.0 < o.rebalance_lambda <= 1.0:
            raise ValueError(f"--rebalance_lambda must be in (0, 1], got {o.rebalance_lambda}")
        if m.encoder and m.generator != "encoder_unet":
            raise ValueError(f"--encoder applies to --generator=encoder_unet, not {m.generator}")
        if m.hints and m.generator not in HINT_GENERATORS:
            raise ValueError(f"--hints needs --generator={' or '.join(HINT_GENERATORS)}, not {m.generator}")
        if m.hints and m.ab_output != "regression":
            raise ValueError("--hints needs --ab_output=regression")
        if m.freeze_encoder_epochs and m.generator not in ("encoder_unet", "resnet18_unet"):
            raise ValueError("--freeze_encoder_epochs applies to --generator=encoder_unet or resnet18_unet")
        if not 0.0 <= opt.ema_decay < 1.0:
            raise ValueError(f"--ema_decay must be in [0, 1), got {opt.ema_decay}")
        if o.colorfulness_weight < 0 or o.perceptual_weight < 0 or o.class_weight < 0:
            raise ValueError("--colorfulness_weight, --perceptual_weight and --class_weight must be >= 0")
        if m.class_temperature <= 0:
            raise ValueError(f"--class_temperature must be > 0, got {m.class_temperature}")
        if o.perceptual_weight and not o.perceptual_weights:
            raise ValueError("--perceptual_weight needs --perceptual_weights=PATH to VGG16 weights "
                             "(lpips_vgg.npz from python -m tfcolor.convert_lpips)")
        if d.jitter_size and d.jitter_size < d.image_size:
            raise ValueError(f"--jitter_size ({d.jitter_size}) must be >= --image_size ({d.image_size})")
        if opt.schedule == "linear" and opt.decay_epochs > r.epochs:
            raise ValueError(f"--decay_epochs ({opt.decay_epochs}) exceeds --epochs ({r.epochs}): give "
                             f"--decay_epochs=N of at most {r.epochs}, or --decay_epochs=0 (the last half of the "
                             f"epochs, as pix2pix decays)")
        if o.pretrain_epochs > r.epochs:  # equal: no adversarial phase (a regression-only baseline)
            raise ValueError(f"--pretrain_epochs ({o.pretrain_epochs}) exceeds --epochs ({r.epochs})")
        if r.virtual_devices > 1 and r.strategy in ("one_device", "multi_worker"):
            raise ValueError(f"--virtual_devices={r.virtual_devices} is for --strategy=auto or mirrored, "
                             f"not {r.strategy}")
        for name, value in (("--batch_size", r.batch_size), ("--epochs", r.epochs),
                            ("--virtual_devices", r.virtual_devices), ("--virtual_device_mb", r.virtual_device_mb),
                            ("--image_size", d.image_size), ("--checkpoint_every", r.checkpoint_every)):
            if value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        return self

    @property
    def needs_colour_prior(self):
        """Whether training reads the training set's ab histogram (for a rebalanced term, and for
        the class head's starting bias)."""
        return self.objective.rebalance_l1 or self.model.ab_output == "classes"

    def to_dict(self):
        return dataclasses.asdict(self)
