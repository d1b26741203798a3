"""One photo from the shell: `colorize photo.jpg` with the shipped model, whole processes timed,
the quick path (its network on LiteRT, numpy for the rest, no TensorFlow import) against the
TensorFlow path (the same model forced through it with --render_size at its own size), run
alternately; the two outputs compared (PSNR).

    python -m bench.one_photo                      # scikit-image's astronaut, resized to 1024 px
    python -m bench.one_photo --photo=my.jpg --runs=7
    python -m bench.one_photo --hints=10           # the quick path with 10 hint points against without

The first quick run on a machine converts the network (with TensorFlow) into the cache; it is
done before the timed runs and reported apart.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
from PIL import Image

from bench.common import ROOT, cpu_model, log


def timed(args, env):
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "tfcolor.colorize", *args], cwd=ROOT, env=env,
                            capture_output=True, text=True)
    if result.returncode:
        raise SystemExit(f"failed: {args}\n{result.stderr[-3000:]}")
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photo", default="", help="default: scikit-image's astronaut at 1024 px")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--hints", type=int, default=0,
                        help="N > 0: compare `colorize --hints` with N points (Zhang et al.'s protocol, drawn "
                             "from the photo's own colours) against the automatic quick path instead")
    args = parser.parse_args()

    from tfcolor.core import rundir, shipped
    from tfcolor.deploy import quick

    work = tempfile.mkdtemp(prefix="one_photo-")
    photo = args.photo
    if not photo:
        import skimage.data

        photo = os.path.join(work, "astronaut.jpg")
        Image.fromarray(skimage.data.astronaut()).resize((1024, 1024), Image.LANCZOS).save(photo, quality=92)
    env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="2")
    size = (rundir.read_config(shipped.model_dir()) or {}).get(rundir.RENDER_SIZE, 0) or 96
    start = time.perf_counter()
    cached = os.path.exists(quick.network_path(shipped.model_dir()))
    quick.network_file(shipped.model_dir())
    quick.refiner_file(shipped.model_dir())  # (the hint refiner's, when the model has one)
    log(f"network conversion: {'already cached' if cached else f'{time.perf_counter() - start:.1f} s (once)'}")
    if args.hints:
        return compare_hints(photo, work, env, args.hints, args.runs)
    runs = {"quick": [], "tensorflow": []}
    for _ in range(args.runs):
        runs["quick"].append(timed([photo, f"--output_dir={work}/quick"], env))
        runs["tensorflow"].append(timed([photo, f"--output_dir={work}/tf", f"--render_size={size}"], env))
    name = os.path.splitext(os.path.basename(photo))[0] + ".png"
    a = np.asarray(Image.open(os.path.join(work, "quick", name))).astype(float)
    b = np.asarray(Image.open(os.path.join(work, "tf", name))).astype(float)
    mse = np.mean((a - b) ** 2)
    log(f"{cpu_model()}, {os.cpu_count()} cores; {photo} ({a.shape[1]}x{a.shape[0]})")
    for kind, times in runs.items():
        log(f"{kind}: median {statistics.median(times):.2f} s ({', '.join(f'{t:.2f}' for t in times)})")
    log(f"ratio {statistics.median(runs['tensorflow']) / statistics.median(runs['quick']):.1f}x; quick against "
        f"TensorFlow: PSNR {10 * np.log10(255 ** 2 / mse) if mse else float('inf'):.1f} dB")


def compare_hints(photo, work, env, count, repeats):
    """Whole `colorize` processes, alternately with ``count`` hint points and without."""
    import json

    from tfcolor.core import hints as hint_format

    rgb = np.asarray(Image.open(photo).convert("RGB"))
    points = hint_format.protocol_points(hint_format.lab_of_rgb(rgb)[..., 1:], count, np.random.default_rng(0))
    hint_file = os.path.join(work, "hints.json")
    with open(hint_file, "w") as f:
        json.dump(hint_format.Hints(points).to_json(), f)
    runs = {"automatic": [], f"{count} hints": []}
    for _ in range(repeats):
        runs["automatic"].append(timed([photo, f"--output_dir={work}/auto"], env))
        runs[f"{count} hints"].append(timed([photo, f"--output_dir={work}/hinted", f"--hints={hint_file}"], env))
    log(f"{cpu_model()}, {os.cpu_count()} cores; {photo} ({rgb.shape[1]}x{rgb.shape[0]})")
    for kind, times in runs.items():
        log(f"{kind}: median {statistics.median(times):.2f} s ({', '.join(f'{t:.2f}' for t in times)})")
    log(f"hints cost {statistics.median(runs[f'{count} hints']) / statistics.median(runs['automatic']):.2f}x "
        f"the automatic time")


if __name__ == "__main__":
    main()
