"""The figures of the README and the model card, remade from the shipped model by one command each.

    python -m bench.figures film --out=docs/film_1906.jpg
    python -m bench.figures card --work_dir=runs/quality_more --out=saved_models/colorizer/example.jpg

``film``: three frames (30, 140, 260) of a 1906 film of the French Grand Prix at Calais
(Debian's python-nbsphinx-doc, via Wikimedia Commons, public domain), fetched here with
``apt-get download``: gray | the shipped model | the shipped model with two hints per shot (a
point on the wooden boards and one on the trees, placed on the shot's first frame and carried
along the optical flow: ``colorize --hints``). ``card``: four held-out photos of bench.quality's set (build it with
bench.quality first): gray | the shipped model | real colours.
"""

import argparse
import glob
import json
import os
import subprocess
import sys

import numpy as np
from PIL import Image

from bench.common import ROOT

FILM_PACKAGE = "python-nbsphinx-doc"
FILM = "usr/share/doc/python-nbsphinx/html/www/wikimediacommons/Shepard_Calais_1906_FrenchGP.ogv"
FILM_FRAMES = (30, 140, 260)
# Two points per shot (the clip cuts at frame 81): a weathered wood's brown on the boards, a
# foliage green on the trees.
FILM_HINTS = {"points": [{"x": 150, "y": 120, "color": "#7d6a55", "radius": 6, "frame": 0},
                         {"x": 180, "y": 20, "color": "#4a6b35", "radius": 4, "frame": 0},
                         {"x": 150, "y": 125, "color": "#7d6a55", "radius": 6, "frame": 82},
                         {"x": 185, "y": 35, "color": "#4a6b35", "radius": 4, "frame": 82}]}
CARD_PHOTOS = ("lomiri-wallpapers-16.04__Wine_by_Jakkub_Mede", "lomiri-wallpapers-16.04__friends_by_Aitzol_Berasategi",
               "mate-backgrounds__LadyBird", "plasma-workspace-wallpapers__Kite")


def _frames(path, wanted):
    import av

    with av.open(path) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(container.streams.video[0])]
    return [frames[i] for i in wanted]


def _grid(rows, column_width):
    """Rows of images, each cell resized to the size of its row's first at ``column_width``."""
    lines = []
    for row in rows:
        size = (column_width, round(row[0].shape[0] * column_width / row[0].shape[1]))
        cells = [np.asarray(Image.fromarray(c).resize(size, Image.LANCZOS)) for c in row]
        gap = np.full((cells[0].shape[0], 8, 3), 255, np.uint8)
        line = cells[0]
        for cell in cells[1:]:
            line = np.concatenate([line, gap, cell], 1)
        lines += [line, np.full((8, line.shape[1], 3), 255, np.uint8)]
    return np.concatenate(lines[:-1])


def film(out, work):
    from tfcolor.deploy.inference import gray_rgb

    os.makedirs(work, exist_ok=True)
    clip = os.path.join(work, "x", FILM)
    if not os.path.exists(clip):
        subprocess.run(["apt-get", "download", FILM_PACKAGE], cwd=work, check=True, stdout=subprocess.DEVNULL)
        subprocess.run(["dpkg", "-x", glob.glob(os.path.join(work, f"{FILM_PACKAGE}_*.deb"))[0], "x"], cwd=work,
                       check=True)
    hints = os.path.join(work, "calais.json")
    with open(hints, "w") as f:
        json.dump(FILM_HINTS, f)
    outputs = {}
    for name, extra in (("auto", []), ("hints", [f"--hints={hints}"])):
        outputs[name] = os.path.join(work, f"calais_{name}.mkv")
        if os.path.exists(outputs[name]):  # made by an earlier run (delete it to remake it)
            continue
        subprocess.run([sys.executable, "-m", "tfcolor.colorize", clip, f"--output={outputs[name]}",
                        "--video_codec=ffv1", *extra], check=True)
    gray = [gray_rgb(f).numpy() for f in _frames(clip, FILM_FRAMES)]
    columns = [gray, _frames(outputs["auto"], FILM_FRAMES), _frames(outputs["hints"], FILM_FRAMES)]
    Image.fromarray(_grid(list(zip(*columns)), 320)).save(out, quality=88)
    print(f"wrote {out}")


def card(out, work_dir):
    from tfcolor.core import shipped
    from tfcolor.deploy.colorizer import load_colorizer
    from tfcolor.deploy.inference import gray_rgb

    colorize, description = load_colorizer(shipped.default_model())
    rows = []
    for stem in CARD_PHOTOS:
        truth = np.asarray(Image.open(os.path.join(work_dir, "val_photos", stem + ".jpg")).convert("RGB"))
        gray = gray_rgb(truth).numpy()
        rows.append((gray, colorize(gray), truth))
    Image.fromarray(_grid(rows, 340)).save(out, quality=88)
    print(f"wrote {out} ({description})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("figure", choices=("film", "card"))
    parser.add_argument("--out", required=True)
    parser.add_argument("--work_dir", default=os.path.join(ROOT, "runs", "quality_more"),
                        help="card: bench.quality's folder (its val_photos)")
    parser.add_argument("--film_dir", default=os.path.join(ROOT, "runs", "figures"),
                        help="film: where the package and the colourised clips go")
    args = parser.parse_args()
    if args.figure == "film":
        film(args.out, args.film_dir)
    else:
        card(args.out, args.work_dir)


if __name__ == "__main__":
    main()
