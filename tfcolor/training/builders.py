"""Builds the strategy, datasets, networks, optimizers and GAN from a TrainConfig."""

import os

import numpy as np
import tensorflow as tf

from tfcolor import gans, models
from tfcolor.core import ab_bins, color, data, fs, rundir, schema
from tfcolor.core.data import DataError, count_records
from tfcolor.gans import rebalance
from tfcolor.gans.reconstruction import Reconstruction
from tfcolor.gans.optimizers import make_optimizer
from tfcolor.models import classes
from tfcolor.training.schedules import make_schedule


def make_strategy(name, devices=None):
    """The tf.distribute strategy called ``name``; ``devices`` (logical device names, e.g.
    from tfcolor.training.devices.split_first_device) makes auto and mirrored mirror over them."""
    if name == "multi_worker":  # first: it must configure TF before anything initialises it
        return tf.distribute.MultiWorkerMirroredStrategy()
    if devices and len(devices) > 1 and name in ("auto", "mirrored"):
        return tf.distribute.MirroredStrategy(devices)
    gpus = tf.config.list_logical_devices("GPU")
    if name == "auto":
        if len(gpus) <= 1:
            # The default strategy: Keras iterates the dataset itself. (Under
            # OneDeviceStrategy its distributed iterator made seeded CPU runs differ when the
            # machine was loaded.)
            return tf.distribute.get_strategy()
        name = "mirrored"
    if name == "one_device":
        return tf.distribute.OneDeviceStrategy("/gpu:0" if gpus else "/cpu:0")
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    raise ValueError(f"unknown strategy {name!r}")


def mirrors_on_cpu(strategy):
    """MirroredStrategy over CPU devices (where XLA's jit_compile does not work with it)."""
    return (isinstance(strategy, tf.distribute.MirroredStrategy) and strategy.num_replicas_in_sync > 1
            and all("CPU" in d.upper() for d in strategy.extended.worker_devices))


def is_chief(strategy):
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    if resolver.task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return resolver.task_type == "worker" and resolver.task_id == 0 and not has_chief


def _manifest_near(path):
    directory = path if os.path.isdir(path) else os.path.dirname(path.split(",")[0])
    try:
        return schema.read_manifest(directory), directory
    except FileNotFoundError:
        return None, directory


def _records_in_manifest(manifest, files):
    """Record count of ``files`` when they are exactly one split of the manifest."""
    names = sorted(os.path.basename(f) for f in files)
    for entry in (manifest or {}).get("splits", {}).values():
        if sorted(entry["files"]) == names:
            return entry["records"]
    return None


class DataInfo:
    """Resolved shard files, record counts and stored size of the training data."""

    def __init__(self, config):
        cfg = config.data
        manifest, directory = _manifest_near(cfg.train)
        if os.path.isdir(cfg.train):
            if manifest is None:
                raise DataError(f"{cfg.train} has no manifest.json: prepare it with data_prep first")
            train = schema.shard_pattern(directory, "train")
            val_split = next((s for s in ("val", "test") if manifest["records"].get(s)), None)
            val = cfg.val or (schema.shard_pattern(directory, val_split) if val_split else "")
        else:
            train, val = cfg.train, cfg.val
        self.train_files = self._files(train, "--train")
        self.val_files = self._files(val, "--val") if val else []
        self.train_records = _records_in_manifest(manifest, self.train_files)
        if self.train_records is None:
            self.train_records = count_records(self.train_files)
        self.val_records = _records_in_manifest(manifest, self.val_files) if self.val_files else 0
        if self.val_records is None:
            self.val_records = count_records(self.val_files)
        self.stored_size = manifest["stored_size"] if manifest else None
        if self.train_records == 0:
            raise DataError(f"the training data {train} holds no records")
        self._check_first_record(cfg.image_size)

    @staticmethod
    def _files(pattern, flag):
        try:
            return data.list_shards(pattern)
        except ValueError as e:
            raise DataError(f"{flag}: {e}") from e

    def _check_first_record(self, image_size):
        try:
            record = next(iter(tf.data.TFRecordDataset(self.train_files[:1])))
            parsed = schema.parse_example(record)
        except (tf.errors.DataLossError, tf.errors.InvalidArgumentError, StopIteration) as e:
            raise DataError(f"cannot read a record from {self.train_files[0]}: {str(e).splitlines()[0]}") from e
        size = int(parsed["height"])
        self.stored_size = self.stored_size or size
        if size < image_size:
            raise DataError(
                f"the dataset stores {size}x{size} images but --image_size={image_size}: prepare it "
                f"again with --image_size={image_size} or train with --image_size<={size}"
            )


def make_datasets(config, info, strategy):
    cfg, run = config.data, config.run
    seed = run.seed if run.seed >= 0 else None

    def train_fn(context):
        return data.make_dataset(
            info.train_files, run.batch_size, training=True, image_size=cfg.image_size,
            jitter_size=cfg.jitter_size or None, flip=cfg.flip, shuffle_buffer=cfg.shuffle_buffer,
            deterministic=seed is not None, seed=seed, input_context=context, hints=config.model.hints,
        )

    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        # Each worker's pipeline reads its own shards (or records); validation repeats so
        # that every worker runs the same number of steps (see loop.worker_fit).
        def val_fn(context):
            return data.make_dataset(info.val_files, run.batch_size, training=False,
                                     image_size=cfg.image_size, deterministic=True, repeat=True,
                                     input_context=context, hints=config.model.hints)

        train = strategy.distribute_datasets_from_function(train_fn)
        val = strategy.distribute_datasets_from_function(val_fn) if info.val_files else None
        return train, val
    if isinstance(strategy, tf.distribute.MirroredStrategy):
        train = strategy.distribute_datasets_from_function(train_fn)  # per-replica pipelines
    else:
        train = train_fn(None)
    val = None
    if info.val_files:
        val = data.make_dataset(info.val_files, run.batch_size, training=False,
                                image_size=cfg.image_size, deterministic=True, hints=config.model.hints)
    return train, val


def sample_batch(config, info, pool=512):
    """Fixed validation (or training) images for the sample grids, evenly spread over the
    first ``pool`` records so that they show different photos; None for ``--val_images=0``."""
    if config.data.val_images <= 0:
        return None
    files = info.val_files or info.train_files
    ds = data.make_dataset(files, pool, training=False, image_size=config.data.image_size,
                           deterministic=True, hints=config.model.hints)
    l_norm, ab_norm = next(iter(ds))
    picks = np.linspace(0, int(l_norm.shape[0]) - 1, config.data.val_images).round().astype(int)
    return tf.gather(l_norm, picks), tf.gather(ab_norm, picks)


def build_networks(config, counts=None):
    """The generator and discriminator named in the config; each registry entry says which
    model settings its builder takes (tfcolor.models.registry). ``counts`` (colour_prior's
    output) start a class head from the training colours."""
    m, size = config.model, config.data.image_size
    outputs = {"out_channels": classes.CLASS_FEATURES} if m.ab_output == "classes" else {}
    if m.hints:
        from tfcolor.models.hint_inputs import HINT_INPUT_CHANNELS

        outputs["in_channels"] = HINT_INPUT_CHANNELS
    generator = models.GENERATORS.build(
        m.generator, image_size=size, norm=m.g_norm, init=m.init, upsampling=m.upsampling,
        **outputs, **models.GENERATORS.kwargs_from(m.generator, m))
    if m.ab_output == "classes":
        centres = ab_bins.gamut_centres()
        prior = None if counts is None else rebalance.class_prior(counts, centres)
        generator = classes.class_head(generator, m.class_temperature, centres, prior)
    discriminator = models.DISCRIMINATORS.build(
        m.discriminator, image_size=size, base_filters=m.d_filters, norm=m.d_norm, init=m.init,
        final_activation=m.d_activation, **models.DISCRIMINATORS.kwargs_from(m.discriminator, m))
    return generator, discriminator


def build_optimizers(config, total_steps):
    """The objective's paper recipe, with the flags' overrides and schedule."""
    o, opt = config.objective, config.optim
    name, lr, *betas = gans.OBJECTIVES.load(o.gan).OPTIMIZER
    beta1, beta2 = (betas + [0.9, 0.999][len(betas):])
    name = opt.optimizer or name
    beta1 = opt.beta1 if opt.beta1 >= 0 else beta1
    beta2 = opt.beta2 if opt.beta2 >= 0 else beta2
    n_critic = n_critic_of(config)
    decay = opt.decay_epochs * (total_steps // max(config.run.epochs, 1))
    g_schedule = make_schedule(opt.schedule, opt.g_lr or lr, total_steps, decay)
    d_schedule = make_schedule(opt.schedule, opt.d_lr or lr, total_steps * n_critic, decay * n_critic)
    return make_optimizer(name, g_schedule, beta1, beta2), make_optimizer(name, d_schedule, beta1, beta2)


def n_critic_of(config):
    return config.objective.n_critic or gans.OBJECTIVES.load(config.objective.gan).N_CRITIC


PRIOR_IMAGES = 2000  # training images read for the ab histogram of the rebalanced terms
PERCEPTUAL_TAPS = (2, 4, 7)  # relu1_2, relu2_2, relu3_3


def colour_prior(config, info, max_images=PRIOR_IMAGES):
    """ab histogram counts of (up to ``max_images``) training images, centre crops at the
    training size, for --rebalance_l1 and --rebalance_classes."""
    ds = data.make_dataset(info.train_files, 64, training=False, image_size=config.data.image_size,
                           deterministic=True).take(-(-max_images // 64))
    counts = 0.0
    for _, ab_norm in ds:
        counts = counts + rebalance.histogram(ab_norm.numpy() * color.AB_SCALE)
    return counts


def build_reconstruction(config, counts=None):
    """The generator's non-adversarial loss from the flags (``counts``: colour_prior's output,
    needed when ``config.needs_colour_prior``)."""
    o = config.objective
    prior = rebalance.weights(counts, lam=o.rebalance_lambda) if config.needs_colour_prior else None
    bin_weights = prior if o.rebalance_l1 else None
    class_weight = o.class_weight if config.model.ab_output == "classes" else 0.0
    class_bin_weights = prior if class_weight and o.rebalance_classes else None
    features = None
    if o.perceptual_weight:
        from tfcolor.models import vgg

        try:
            features = vgg.VGGFeatures(o.perceptual_weights, PERCEPTUAL_TAPS)
        except (vgg.MissingWeights, KeyError) as e:
            raise DataError(f"--perceptual_weights: {e}") from e
    return Reconstruction(o.l1_weight, bin_weights, o.colorfulness_weight, features, o.perceptual_weight,
                          class_weight, class_bin_weights)


def build_gan(config, total_steps, reconstruction=None, counts=None):
    """Networks, objective and optimizers; call inside ``strategy.scope()`` (``counts``:
    colour_prior's output, when ``config.needs_colour_prior``)."""
    o = config.objective
    generator, discriminator = build_networks(config, counts)
    kwargs = dict(l1_weight=o.l1_weight, reconstruction=reconstruction, ema_decay=config.optim.ema_decay,
                  **gans.OBJECTIVES.kwargs_from(o.gan, o))
    if o.gan == "pix2pix":
        kwargs["from_logits"] = config.model.d_activation != "sigmoid"
    else:
        kwargs["n_critic"] = n_critic_of(config)
    gan = gans.build_gan(o.gan, generator, discriminator, **kwargs)
    jit = {"auto": "auto", "true": True, "false": False}[config.run.jit_compile]
    gan.compile(*build_optimizers(config, total_steps), jit_compile=jit)
    return gan


def write_json(path, obj):
    """Valid JSON (non-finite floats as null), keys sorted."""
    with tf.io.gfile.GFile(path, "w") as f:
        f.write(fs.json_text(obj, sort_keys=True))


def initialize_from(gan, path):
    """Fine-tuning: sets ``gan``'s weights from an earlier training run (its latest checkpoint:
    generator and discriminator, not the optimizers or the step counter) or from a generator
    file (a ``.keras`` file, or a folder holding ``generator.keras``: the generator only).
    Returns a line saying what was loaded; raises DataError when nothing there fits."""
    checkpoints = rundir.path(path, rundir.CHECKPOINTS)
    latest = tf.train.latest_checkpoint(checkpoints) if os.path.isdir(checkpoints) else None
    if latest:
        networks = tf.train.Checkpoint(generator=gan.generator, discriminator=gan.discriminator)
        try:  # shapes that differ fail in restore, missing layers in the assertion
            tf.train.Checkpoint(gan=networks).restore(latest).expect_partial().assert_existing_objects_matched()
        except (AssertionError, ValueError) as e:
            raise DataError(f"--init_from={path}: its networks differ from this run's "
                            f"(--generator, --discriminator and their sizes must match): {str(e)[:300]}") from e
        if gan.averaging:
            gan.averaging.reset()
        return f"initialised generator and discriminator from {latest}"
    generator_file = rundir.generator_file(path)
    if not os.path.isfile(generator_file):
        raise DataError(f"--init_from={path}: no {rundir.CHECKPOINTS}/ and no {rundir.GENERATOR} there")
    source = models.load_generator_file(generator_file)
    theirs, ours = source.get_weights(), gan.generator.get_weights()
    if [w.shape for w in theirs] != [w.shape for w in ours]:
        raise DataError(f"--init_from={generator_file}: that generator has another architecture "
                        f"({len(theirs)} weight arrays, {sum(w.size for w in theirs):,} values; this run's: "
                        f"{len(ours)}, {sum(w.size for w in ours):,})")
    gan.generator.set_weights(theirs)
    if gan.averaging:
        gan.averaging.reset()
    return f"initialised the generator from {generator_file} (the discriminator starts fresh)"
