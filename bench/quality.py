"""Colour quality on real photos no model saw: pix2pix, WGAN, WGAN-GP, the loss terms against
sepia, the plain L1 regression (no GAN) and the regression followed by the GAN, weight averaging,
colour classes, trained under one CPU budget each, measured beside the gray-photo floor.

    python -m bench.quality                      # about 20 minutes per recipe on 2 cores
    python -m bench.quality --minutes=10 --recipes=pix2pix,pix2pix_colorful
    python -m bench.quality --gcompris --work_dir=runs/quality_gcompris   # 144 more training photos
    python -m bench.quality --gcompris --work_dir=runs/quality_gcompris --recipes=pix2pix --steps=5550
    python -m bench.quality --gcompris --more_photos --work_dir=runs/quality_more \
        --recipes=pix2pix_ema_slim --steps=5550 --ship=saved_models/colorizer   # retrains the shipped model

Photos: the photographs (not the drawings) of Debian's wallpaper packages and OpenCV's sample
photos (opencv-doc, training only), fetched with ``apt-get download`` and unpacked here (never in
tests), plus the photos that ship with scikit-image and matplotlib; with ``--gcompris`` also the
photographs inside GCompris's resource bundles (gcompris-qt-data: animals, monuments, the sea;
training only, read with bench/rcc.py). Whole photos are held out for validation (every third
wallpaper photo by name, the same 12 whatever is added): no crop of a validation photo is ever
trained on. The training photos are cut into random crops (data_prep.folder prepares them); the
held-out photos are evaluated whole (long side 512 px) with tfcolor.evaluate, which reports the
gray floor beside each model, and ``evaluate --compare`` makes one table and figure.

Budget: each recipe's speed is measured first (a short run); its number of steps is then
budget x speed, so every recipe gets the same CPU time whatever else the machine does later (a
recipe that pretrains with L1 before its GAN is timed at both speeds); ``--steps`` fixes the
steps instead, to repeat a recorded run on a slower or faster machine. Each stage is skipped when
its output exists: rerun to go on after an interruption.
"""

import argparse
import json
import os
import shutil
import sys

from bench.common import ROOT, log, run
from bench.shipping import calibrated_gain, eval_label, evaluate_both, evaluate_model, raw_generator, ship
from bench.sources import PEOPLE_SOURCES, build_check_set, build_photo_sets, extra_photo_paths

BATCH = 16


COMMON = ["--flagfile=experiments/common.flags", "--generator=unet", "--g_filters=32", "--discriminator=patchgan",
          "--d_layers=3", "--d_filters=32", f"--batch_size={BATCH}", "--checkpoint_every=200", "--log_every=20",
          "--val_images=6", "--shuffle_buffer=2000"]


PIX2PIX = ["--gan=pix2pix", "--d_norm=batch"]


RECIPES = {
    "pix2pix": PIX2PIX,
    "wgan": ["--gan=wgan", "--d_norm=batch", "--n_critic=5", "--clip_value=0.01", "--optimizer=rmsprop",
             "--g_lr=5e-5", "--d_lr=5e-5"],
    "wgan_gp": ["--gan=wgan_gp", "--d_norm=layer", "--n_critic=5", "--gp_weight=10", "--optimizer=adam",
                "--g_lr=1e-4", "--d_lr=1e-4", "--beta1=0.5", "--beta2=0.9"],
    "pix2pix_colorful": PIX2PIX + ["--colorfulness_weight=10"],
    "pix2pix_rebalanced": PIX2PIX + ["--rebalance_l1"],
    "pix2pix_perceptual": PIX2PIX + ["--perceptual_weight=1"],  # needs --perceptual_weights
    # Every epoch is L1 pretraining: the generator alone, no GAN (a regression).
    "l1": PIX2PIX,
    "l1_colorful": PIX2PIX + ["--colorfulness_weight=10"],
    # The L1 regression for most epochs, then the GAN from it (as DeOldify's NoGAN: colour that is
    # right first, then vivid).
    "l1_then_pix2pix": PIX2PIX,
    # Weight averaging (--ema_decay) and a pretrained encoder: VGG16 with the HED edge detector's
    # ImageNet-derived weights (bench/pretrained.py), fixed for the whole run or freed after one epoch.
    "pix2pix_ema": PIX2PIX + ["--ema_decay=0.999"],
    # The shipped recipe: the same with at most 128 filters per level (7.3x fewer weights: 10 MB).
    "pix2pix_ema_slim": PIX2PIX + ["--ema_decay=0.999", "--g_max_filters=128"],
    # The same pushed towards the real photos' colourfulness (against the washed-out strong colours).
    "pix2pix_ema_slim_colorful": PIX2PIX + ["--ema_decay=0.999", "--g_max_filters=128",
                                            "--colorfulness_weight=10"],
    "pix2pix_ema_slim_rebalanced": PIX2PIX + ["--ema_decay=0.999", "--g_max_filters=128", "--rebalance_l1"],
    # Colour classes instead of the L1 regression (Zhang et al.'s cross-entropy over ab classes,
    # decoded by the annealed mean), with the GAN and averaging of the shipped recipe.
    "pix2pix_ema_slim_classes": PIX2PIX + ["--ema_decay=0.999", "--g_max_filters=128", "--ab_output=classes",
                                           "--l1_weight=0", "--class_weight=3", "--norebalance_classes"],
    "pix2pix_ema_slim_classes_rebalanced": PIX2PIX + ["--ema_decay=0.999", "--g_max_filters=128",
                                                      "--ab_output=classes", "--l1_weight=0", "--class_weight=3"],
    # The shipped recipe in a run folder of its own, for a longer --steps than the recorded rows.
    "pix2pix_ema_slim_long": PIX2PIX + ["--ema_decay=0.999", "--g_max_filters=128"],
    "vgg_frozen_ema": PIX2PIX + ["--generator=encoder_unet", "--encoder=vgg16", "--ema_decay=0.999"],
    "vgg_ema": PIX2PIX + ["--generator=encoder_unet", "--encoder=vgg16", "--ema_decay=0.999",
                          "--freeze_encoder_epochs=1"],
    # An ImageNet classifier's encoder (EfficientNet-Lite0, bench/pretrained.py), fixed for the
    # whole run: its decoder learns colour from what ImageNet taught the encoder to tell apart.
    "lite0_frozen_ema": PIX2PIX + ["--generator=encoder_unet", "--encoder=efficientnet_lite0", "--ema_decay=0.999"],
    # The shipped recipe as a hint generator (Zhang et al. 2017's simulated hints; tfcolor.core.hints).
    "lite0_frozen_ema_hints": PIX2PIX + ["--generator=encoder_unet", "--encoder=efficientnet_lite0",
                                         "--ema_decay=0.999", "--hints"],
    # The same with at most 128 filters per decoder level (23 MB instead of 48: it ships).
    "lite0_frozen_ema_slim": PIX2PIX + ["--generator=encoder_unet", "--encoder=efficientnet_lite0",
                                        "--ema_decay=0.999", "--g_max_filters=128"],
    # The Lite0 recipe pushed towards the real photos' colourfulness (the palapeli photos' colour).
    "lite0_frozen_ema_colorful": PIX2PIX + ["--generator=encoder_unet", "--encoder=efficientnet_lite0",
                                            "--ema_decay=0.999", "--colorfulness_weight=10"],
    # The Lite0 recipe with a shorter average, for runs of fewer steps (--image_size=96: 2,470 steps
    # cost what 5,550 do at 64 px): at 0.998 it spans about the last 500 steps, the share of the run
    # that 0.999 spans in 5,550.
    "lite0_frozen_ema998": PIX2PIX + ["--generator=encoder_unet", "--encoder=efficientnet_lite0",
                                      "--ema_decay=0.998"],
}


# A recipe with an --encoder trains it from the ImageNet-derived weights bench/pretrained.py converts
# for that encoder (recipe_encoder), fixed for every epoch unless the recipe sets
# --freeze_encoder_epochs itself.
REGRESSION_ONLY = {"l1", "l1_colorful"}


# Share of the epochs spent on L1 pretraining before the GAN; the rest of the recipe is the GAN.
PRETRAIN_SHARE = {"l1_then_pix2pix": 0.8}


def run_name(name, seed):
    return name if seed == 0 else f"{name}_seed{seed}"


def recipe_flags(name, args, data_dir, model_dir, epochs):
    flags = COMMON + RECIPES[name] + [f"--train={data_dir}", f"--model_dir={model_dir}",
                                      f"--image_size={args.image_size}", f"--seed={args.seed}", f"--epochs={epochs}"]
    if name in REGRESSION_ONLY:
        flags.append(f"--pretrain_epochs={epochs}")
    elif name in PRETRAIN_SHARE:
        flags.append(f"--pretrain_epochs={pretrain_epochs(name, epochs)}")
    if name == "pix2pix_perceptual":
        flags.append(f"--perceptual_weights={args.perceptual_weights}")
    if recipe_encoder(name):
        flags.append(f"--encoder_weights={args.encoder_weights[recipe_encoder(name)]}")
        if not any(flag.startswith("--freeze_encoder_epochs=") for flag in RECIPES[name]):
            flags.append(f"--freeze_encoder_epochs={epochs}")
    return flags


def recipe_encoder(name):
    """The ``--encoder`` a recipe sets (a key of bench.pretrained.CONVERTERS), or None."""
    return next((flag.split("=", 1)[1] for flag in RECIPES[name] if flag.startswith("--encoder=")), None)


def pretrain_epochs(name, epochs):
    """Epochs of L1 pretraining in a recipe that goes on with the GAN: at least one GAN epoch."""
    return min(epochs - 1, round(epochs * PRETRAIN_SHARE[name])) if epochs > 1 else 0


def measured_rate(name, args, data_dir, work):
    """Images per second of a recipe, measured on a short run (the GAN's speed for a pretrained recipe)."""
    calib = os.path.join(work, "calibration", name)
    summary = os.path.join(calib, "summary.json")
    if not os.path.exists(summary):
        shutil.rmtree(calib, ignore_errors=True)
        run([sys.executable, "-m", "tfcolor.train", *recipe_flags(name, args, data_dir, calib, 1),
             f"--steps_per_epoch={args.calibration_steps}"])
    return json.load(open(summary))["images_per_second"]


def budget(name, args, data_dir, work):
    """(steps, images per second) of a recipe: ``--steps`` when given (no speed measurement: a
    recorded run repeated on any machine), else what fits ``--minutes`` (steps_for)."""
    if args.steps:
        return args.steps, None
    return steps_for(name, args, data_dir, work)


def steps_for(name, args, data_dir, work):
    """Generator steps that fit the budget: budget x speed measured on a short run. A recipe that
    pretrains with L1 first is timed at the regression's speed for its pretraining share and the
    GAN's for the rest."""
    rate = measured_rate(name, args, data_dir, work)
    if name in PRETRAIN_SHARE:
        share = pretrain_epochs(name, args.epochs) / args.epochs
        regression = measured_rate("l1", args, data_dir, work)
        rate = 1 / (share / regression + (1 - share) / rate)
    return max(1, int(args.minutes * 60 * rate / BATCH)), rate


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
    parser.add_argument("--work_dir", default=os.path.join(ROOT, "runs", "quality"))
    parser.add_argument("--minutes", type=float, default=20.0, help="training budget per recipe")
    parser.add_argument("--recipes", default="pix2pix,wgan,wgan_gp,pix2pix_colorful,pix2pix_rebalanced,"
                                             "pix2pix_perceptual,l1,l1_colorful,l1_then_pix2pix")
    parser.add_argument("--image_size", type=int, default=64)
    parser.add_argument("--crops_per_photo", type=int, default=16)
    parser.add_argument("--extra_photos", default="",
                        help="a folder of more photos to train on (e.g. a COCO or Places365 subset), never held "
                             "out; the photo sets are built once per --work_dir, so give a new one")
    parser.add_argument("--gcompris", action="store_true",
                        help="also train on the 144 photographs inside Debian's gcompris-qt-data (animals, "
                             "monuments, the sea; training only; give a new --work_dir)")
    parser.add_argument("--more_photos", action="store_true",
                        help="also train on every other source of ../shared/PHOTOS.md's table (MORE: scratch, "
                             "interior photos, tuxpaint, dlib, ...; training only; give a new --work_dir)")
    parser.add_argument("--hold_out_people", action="store_true",
                        help="with --more_photos: leave out the sources of the people set (bench.sources."
                             "PEOPLE_SOURCES: dlib's examples, mahotas's portrait), so that `python -m "
                             "bench.snapshots --set=people` can check the run on them; give a new --work_dir")
    parser.add_argument("--ship", default="",
                        help="copy the run's generator.keras (its weights stored as float16: half the file), "
                             "config.json and summary.json to this folder (saved_models/colorizer: the shipped "
                             "model); one recipe only")
    parser.add_argument("--ship_render_size", type=int, default=0,
                        help="the shipped model's default --render_size, written to its config.json (0: its "
                             "training size)")
    parser.add_argument("--ship_chroma_gain", default="",
                        help="the shipped model's default --chroma_gain, written to its config.json: a number, or "
                             "'calibrate': the gain that makes its colourisations of the held-out photos (at "
                             "--ship_render_size) as colourful as the real ones on average ('': 1)")
    parser.add_argument("--render_sizes", default="",
                        help="also evaluate every run (and its raw weights) at these network sizes "
                             "(comma-separated; tfcolor.evaluate --render_size), as LABEL_rSIZE")
    parser.add_argument("--calibrate_chroma", action="store_true",
                        help="also evaluate each of those with the chroma gain calibrated on the held-out photos "
                             "(as LABEL[_rSIZE]_cal: its a*b* x the real photos' mean colourfulness / its own, "
                             "at that size; the check photos play no part in it)")
    parser.add_argument("--max_extra", type=int, default=5000, help="at most this many extra photos (a seeded choice)")
    parser.add_argument("--extra_crops", type=int, default=2, help="random crops per extra photo, besides the whole")
    parser.add_argument("--steps", type=int, default=0,
                        help="train every recipe this many generator steps instead of --minutes x its measured "
                             "speed (to repeat a recorded run on another machine)")
    parser.add_argument("--calibration_steps", type=int, default=25)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--perceptual_weights", default="",
                        help="VGG16 weights (lpips_vgg.npz) for pix2pix_perceptual; skipped without")
    args = parser.parse_args()
    work = os.path.abspath(args.work_dir)
    os.makedirs(work, exist_ok=True)
    extra = extra_photo_paths(args.extra_photos, args.max_extra, args.seed) if args.extra_photos else []
    val_dir, train_dir = build_photo_sets(work, args.crops_per_photo, args.image_size * 2, extra, args.extra_crops,
                                         args.gcompris, args.more_photos,
                                         PEOPLE_SOURCES if args.hold_out_people else ())
    data_dir = os.path.join(work, f"data{args.image_size}")
    if not os.path.exists(os.path.join(data_dir, "manifest.json")):
        run([sys.executable, "-m", "data_prep.folder", f"--images={train_dir}", f"--output_dir={data_dir}",
             f"--image_size={args.image_size}", f"--store_size={args.image_size * 9 // 8}", "--val_fraction=0"])
    recipes = [r for r in args.recipes.split(",") if r]
    if args.ship and len(recipes) != 1:
        parser.error("--ship takes the run of one recipe: give one --recipes")
    args.encoder_weights = {}
    encoders = {recipe_encoder(r) for r in recipes} - {None}
    if encoders:
        from bench.pretrained import CONVERTERS

        for encoder in encoders:
            args.encoder_weights[encoder] = CONVERTERS[encoder](os.path.join(work, "pretrained"))
    if "pix2pix_perceptual" in recipes and not args.perceptual_weights:
        log("pix2pix_perceptual skipped: it needs VGG16 weights (--perceptual_weights=lpips_vgg.npz), "
            "which nothing downloads here")
        recipes.remove("pix2pix_perceptual")
    budgets = {}
    for name in recipes:
        steps, rate = budget(name, args, data_dir, work)
        budgets[name] = {"steps": steps, "images_per_second": rate}
        log(f"{name}: {steps} steps (--steps)" if rate is None else
            f"{name}: {rate:.1f} img/s -> {steps} steps in {args.minutes:g} min")
    check_dir = build_check_set(work)
    evals, checks = [], []
    for name in recipes:
        model_dir = os.path.join(work, "runs", run_name(name, args.seed))
        if not os.path.exists(os.path.join(model_dir, "summary.json")):
            steps = budgets[name]["steps"]
            per_epoch = -(-steps // args.epochs)
            log(f"training {name}: {args.epochs} x {per_epoch} steps")
            run([sys.executable, "-m", "tfcolor.train", *recipe_flags(name, args, data_dir, model_dir, args.epochs),
                 f"--steps_per_epoch={per_epoch}"])
        budgets[name]["seconds"] = json.load(open(os.path.join(model_dir, "summary.json")))["seconds"]
        models = {run_name(name, args.seed): model_dir}
        if any(flag.startswith("--ema_decay=") for flag in RECIPES[name]):  # also the raw weights
            raw = run_name(name, args.seed) + "_raw"
            models[raw] = raw_generator(model_dir, os.path.join(work, "runs", raw))
        sizes = [0] + [int(n) for n in args.render_sizes.split(",") if n]
        for label, model in models.items():
            for size in sizes:
                name = eval_label(label, size)
                evaluate_both(model, name, val_dir, check_dir, work, evals, checks, render_size=size)
                if args.calibrate_chroma:
                    evaluate_both(model, name + "_cal", val_dir, check_dir, work, evals, checks, render_size=size,
                                  chroma_gain=calibrated_gain(os.path.join(work, "eval", name)))
    for folder, found in (("compare", evals), ("compare_check", checks)):
        compare = os.path.join(work, folder + ("" if args.seed == 0 else f"_seed{args.seed}"))
        run([sys.executable, "-m", "tfcolor.evaluate", f"--compare={','.join(found)}", f"--output_dir={compare}"])
        with open(os.path.join(compare, "budgets.json"), "w") as f:
            json.dump(budgets, f, indent=2)
        log(open(os.path.join(compare, "compare.md")).read())
        log(f"table and figure: {compare}")
    if args.ship:
        label, gain = run_name(recipes[0], args.seed), args.ship_chroma_gain
        model_dir = os.path.join(work, "runs", label)
        if gain == "calibrate":
            eval_dir = os.path.join(work, "eval", eval_label(label, args.ship_render_size))
            evaluate_model(model_dir, val_dir, eval_dir, args.ship_render_size)
            gain = calibrated_gain(eval_dir)
        ship(model_dir, args.ship, args.ship_render_size, float(gain or 0))


if __name__ == "__main__":
    main()
