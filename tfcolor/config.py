"""Plain configuration objects for training; flags live only in tfcolor.train.

``TrainConfig.validate()`` catches inconsistent settings before anything is
built, with messages that say what to change.
"""

import dataclasses

from tfcolor.models import DISCRIMINATORS, GENERATORS
from tfcolor.models.layers import INITS, NORMS, UPSAMPLINGS

GANS = ("pix2pix", "wgan", "wgan_gp")
SCHEDULES = ("constant", "linear", "cosine")
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
STRATEGIES = ("auto", "one_device", "mirrored", "multi_worker")


@dataclasses.dataclass
class DataConfig:
    train: str = ""  # glob(s) of training shards, or a prepared dataset directory
    val: str = ""  # glob(s) of validation shards; empty: the directory's val/test split
    image_size: int = 256
    jitter_size: int = 0  # 0: no resize before the random crop
    flip: bool = True
    shuffle_buffer: int = 1000
    val_images: int = 8  # images in the fixed sample grid


@dataclasses.dataclass
class ModelConfig:
    generator: str = "unet"
    g_filters: int = 64
    g_norm: str = "batch"
    upsampling: str = "transpose"
    dropout: float = 0.5
    num_downs: int = 0  # 0: log2(image_size) for unet
    resnet_blocks: int = 9
    encoder_weights: str = ""
    init: str = "normal"
    discriminator: str = "patchgan"
    d_filters: int = 64
    d_layers: int = 3
    d_norm: str = "batch"
    d_activation: str = "none"


@dataclasses.dataclass
class ObjectiveConfig:
    gan: str = "pix2pix"
    gan_mode: str = "vanilla"
    l1_weight: float = 100.0
    n_critic: int = 0  # 0: the objective's default (1 for pix2pix, 5 for the WGANs)
    clip_value: float = 0.01
    gp_weight: float = 10.0
    pretrain_epochs: int = 0
    rebalance_l1: bool = False  # weight L1 by the rarity of each pixel's true colour (Zhang et al.)
    rebalance_lambda: float = 0.5  # mix of the colour prior with a uniform one (1: plain L1)
    colorfulness_weight: float = 0.0  # colourfulness gap to the truth (against sepia)
    perceptual_weight: float = 0.0  # VGG16 feature L1
    perceptual_weights: str = ""  # .npz with torchvision VGG16 weights (lpips_vgg.npz)


@dataclasses.dataclass
class OptimConfig:
    optimizer: str = ""  # "": the objective's default (adam / rmsprop)
    g_lr: float = 0.0  # 0: the objective's default
    d_lr: float = 0.0
    beta1: float = -1.0  # <0: default
    beta2: float = -1.0
    schedule: str = "constant"
    decay_epochs: int = 0  # linear: the last decay_epochs decay to zero


@dataclasses.dataclass
class RunConfig:
    model_dir: str = ""
    epochs: int = 10
    steps_per_epoch: int = 0  # 0: records // batch_size
    batch_size: int = 1
    seed: int = -1  # <0: not seeded
    precision: str = "float32"
    strategy: str = "auto"
    jit_compile: str = "auto"  # XLA for the whole train step: auto (Keras: on GPUs) | true | false
    virtual_devices: int = 1  # >1: split the first GPU (else the CPU) into this many devices
    virtual_device_mb: int = 16384  # GPU memory of each virtual device
    init_from: str = ""  # fine-tuning: a training run or generator.keras to start from
    checkpoint_every: int = 500  # steps
    keep_checkpoints: int = 3
    log_every: int = 50  # steps between TensorBoard scalar points
    val_steps: int = 0  # 0: the whole validation set


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
        _choice("--generator", m.generator, sorted(GENERATORS))
        _choice("--discriminator", m.discriminator, sorted(DISCRIMINATORS))
        _choice("--g_norm", m.g_norm, NORMS)
        _choice("--d_norm", m.d_norm, NORMS)
        _choice("--upsampling", m.upsampling, UPSAMPLINGS)
        _choice("--init", m.init, INITS)
        _choice("--d_activation", m.d_activation, ("none", "tanh", "sigmoid"))
        _choice("--gan", o.gan, GANS)
        _choice("--gan_mode", o.gan_mode, ("vanilla", "lsgan"))
        _choice("--schedule", opt.schedule, SCHEDULES)
        _choice("--optimizer", opt.optimizer, ("", "adam", "rmsprop", "sgd"))
        _choice("--precision", r.precision, PRECISIONS)
        _choice("--strategy", r.strategy, STRATEGIES)
        _choice("--jit_compile", r.jit_compile, ("auto", "true", "false"))
        if not d.train:
            raise ValueError("--train is required: a prepared dataset directory or a TFRecord glob")
        if not r.model_dir:
            raise ValueError("--model_dir is required")
        if o.gan == "wgan_gp" and m.d_norm == "batch":
            raise ValueError(
                "--gan=wgan_gp needs a critic without BatchNorm (the gradient penalty is per "
                "sample): pass --d_norm=layer, instance, spectral or none"
            )
        if o.gan == "pix2pix" and o.n_critic > 1:
            raise ValueError("--n_critic applies to --gan=wgan or wgan_gp; pix2pix updates D once per step")
        if not 0.0 < o.rebalance_lambda <= 1.0:
            raise ValueError(f"--rebalance_lambda must be in (0, 1], got {o.rebalance_lambda}")
        if o.colorfulness_weight < 0 or o.perceptual_weight < 0:
            raise ValueError("--colorfulness_weight and --perceptual_weight must be >= 0")
        if o.perceptual_weight and not o.perceptual_weights:
            raise ValueError("--perceptual_weight needs --perceptual_weights=PATH to VGG16 weights "
                             "(lpips_vgg.npz from python -m tfcolor.convert_lpips)")
        if d.jitter_size and d.jitter_size < d.image_size:
            raise ValueError(f"--jitter_size ({d.jitter_size}) must be >= --image_size ({d.image_size})")
        if m.generator == "unet" and not m.num_downs and d.image_size & (d.image_size - 1):
            raise ValueError(f"--generator=unet needs a power-of-two --image_size, got {d.image_size}")
        if m.generator == "resnet18_unet" and d.image_size % 32:
            raise ValueError("--generator=resnet18_unet needs --image_size divisible by 32")
        if opt.schedule == "linear" and opt.decay_epochs > r.epochs:
            raise ValueError(f"--decay_epochs ({opt.decay_epochs}) exceeds --epochs ({r.epochs})")
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

    def to_dict(self):
        return dataclasses.asdict(self)


def _choice(flag, value, choices):
    if value not in choices:
        shown = ", ".join(repr(c) if c == "" else str(c) for c in choices)
        raise ValueError(f"{flag}={value!r} is not one of: {shown}")
