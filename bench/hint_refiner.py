"""An experiment: can a small network learn to improve Levin et al. 2004's propagation of user
hints? A U-Net reads L, Levin's a*b*, the hint map and its mask at the solve's size (160 px on
the long side) and adds a correction to Levin's a*b* (its last layer starts at zero: Levin
itself); trained with L2 on a*b* on bench.quality's training photos, measured against Levin
alone on the photo sets no model trains on. (With --global_context and half its correction: above
Levin on people, snapshots and palapeli photos, under it on the 12 wallpapers, +0.12 dB over the
four sets at 10 points: bench/README.md, user hints. --ship writes it as a model folder's
hint_refiner.keras, tfcolor.models.hint_refiner, which every front end then runs after Levin.)

    python -m bench.hint_refiner --work_dir=runs/quality_people --out=runs/refiner/global --seed=0 \
        --global_context --corrections=0.5 --sets=val_photos,check_photos,snapshot_photos,people_photos
    python -m bench.hint_refiner --widths=8,16,32,64 --steps=1500 --out=runs/hint_refiner_tiny
    python -m bench.hint_refiner --work_dir=runs/quality_people --out=runs/refiner/global --seed=0 \
        --global_context --ship=saved_models/colorizer --sets=     # the model's refiner (half its correction)

Training examples: each training photo whole (long side 512 px), ``--draws`` times with a random
crop (half of them, 60-100 % of each side) and flip, protocol points (tfcolor.core.hints.
protocol_points) of a geometric count (p = 1/8, 1 to 50), Levin solved at 160 px; cached as
OUT/examples_DRAWS.npy (float16, padded to 160 x 160; about 12 min on 2 cores for 392 photos).
Needs bench.quality's photo sets (build them with it first: it fetches the packages).
"""

import argparse
import hashlib
import json
import os
import time
from multiprocessing import get_context

import numpy as np

from bench.common import ROOT, cpu_model, log
# The examples: the refiner's input (tfcolor.models.hint_refiner: L, Levin's a*b*, the hint a*b*,
# the mask), then the truth's a*b* and the valid mask, padded to SIZE x SIZE.
from tfcolor.models.hint_refiner import CHANNELS, SIZE
AB_CHANNELS = [1, 2, 3, 4, CHANNELS, CHANNELS + 1]  # the a*b* ones: Levin's, the hints', the truth's


def training_photos(work):
    """[(name, path or None)] of the photos behind work/train_photos' crops (None: a sample
    photo of data_prep.sample_photos)."""
    from bench import sources

    names = sorted({c.rsplit("_", 1)[0] for c in os.listdir(os.path.join(work, "train_photos"))})
    found = {}
    for listing in (sources.fetch_packages(work), sources.gcompris_photos(work), sources.more_photos(work)):
        found.update({k.replace("/", "__"): v for k, v in listing.items()})
    return [(name, found.get(name)) for name in names]


def _photo(name, path):
    from PIL import Image

    from bench import sources

    if path:
        return sources.load(path, 512)
    from data_prep.sample_photos import sample_photos

    image = Image.fromarray(sample_photos()[name.split("__", 1)[1]])
    image.thumbnail((512, 512), Image.LANCZOS)
    return np.asarray(image.convert("RGB"))


def examples(job):
    """``draws`` examples [draws, SIZE, SIZE, 9] (float16) of one photo."""
    from tfcolor.core import colornp, hints as hint_format, levin
    from tfcolor.deploy import hinting

    index, name, path, draws = job
    photo = _photo(name, path)
    rng = np.random.default_rng([7, index])
    out = np.zeros((draws, SIZE, SIZE, CHANNELS + 3), np.float16)
    for k in range(draws):
        rgb = photo
        if rng.random() < 0.5:
            height, width = rgb.shape[:2]
            h, w = int(height * rng.uniform(0.6, 1)), int(width * rng.uniform(0.6, 1))
            top, left = rng.integers(0, height - h + 1), rng.integers(0, width - w + 1)
            rgb = rgb[top:top + h, left:left + w]
        if rng.random() < 0.5:
            rgb = rgb[:, ::-1]
        rgb = np.ascontiguousarray(rgb)
        lab = hint_format.lab_of_rgb(rgb)
        points = hint_format.protocol_points(lab[..., 1:], int(min(rng.geometric(1 / 8), 50)), rng)
        gray, hint_ab, mask = hinting.solve_inputs(lab[..., :1], hint_format.Hints(points), SIZE)
        h, w = gray.shape
        ab = levin.propagate(gray, hint_ab, mask[..., 0])
        truth = colornp.resize_area(lab[..., 1:] / colornp.AB_SCALE, h, w)  # (the working size: never larger)
        out[k, :h, :w] = np.concatenate([gray[..., None], ab, hint_ab, mask, truth, np.ones((h, w, 1))], -1)
    return out


BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def build_examples(work, path, draws):
    if os.path.exists(path):
        return np.load(path)
    jobs = [(i, name, photo, draws) for i, (name, photo) in enumerate(training_photos(work))]
    start = time.time()
    # Workers started afresh with one BLAS thread each: two workers of two threads on two cores
    # made numpy's small dense solves (core.levin) about 8x slower (OpenBLAS's threads waiting).
    saved = {k: os.environ.get(k) for k in BLAS_THREADS}
    os.environ.update({k: "1" for k in BLAS_THREADS})
    try:
        with get_context("spawn").Pool(2) as pool:
            data = np.concatenate(pool.map(examples, jobs, chunksize=4))
    finally:
        for k, v in saved.items():
            os.environ.pop(k) if v is None else os.environ.update({k: v})
    np.save(path + ".tmp.npy", data)
    os.replace(path + ".tmp.npy", path)
    log(f"{len(data)} examples of {len(jobs)} photos in {time.time() - start:.0f} s")
    return data


def train(data, widths, steps, seed, crop=96, batch=16, chroma_scale=(1.0, 1.0), global_context=False):
    """``chroma_scale``: each example's a*b* (Levin's, the hints', the truth's) times a factor
    log-uniform in this range. Levin's solve is linear in the hint colours, so the scaled Levin
    input is exactly Levin's answer to the scaled hints: meant to keep the refiner from learning
    the training photos' saturation (it measured worse on every set: bench/HISTORY.md)."""
    import keras
    import tensorflow as tf

    from tfcolor.models import hint_refiner

    keras.utils.set_random_seed(seed)
    model = hint_refiner.build(widths, global_context)
    optimizer = keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(1e-3, steps, alpha=0.05))

    @tf.function
    def step(examples):
        x, truth, valid = examples[..., :CHANNELS], examples[..., CHANNELS:CHANNELS + 2], examples[..., -1:]
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(valid * tf.square(model(x, training=True) - truth)) / tf.reduce_sum(valid) / 2
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
        return loss

    rng = np.random.default_rng(seed)
    start, running = time.time(), None
    for i in range(steps):
        top, left = rng.integers(0, SIZE - crop + 1, 2)
        examples_ = data[rng.choice(len(data), batch, replace=False), top:top + crop, left:left + crop]
        examples_ = examples_.astype(np.float32)[:, :, ::-1] if rng.random() < 0.5 else examples_.astype(np.float32)
        if chroma_scale != (1.0, 1.0):
            scale = np.exp(rng.uniform(*np.log(chroma_scale), (batch, 1, 1, 1))).astype(np.float32)
            examples_[..., AB_CHANNELS] *= scale
        loss = float(step(tf.constant(examples_)))
        running = loss if running is None else 0.98 * running + 0.02 * loss
        if i % 200 == 0 or i == steps - 1:
            log(f"step {i}: loss {running:.5f} ({time.time() - start:.0f} s)")
    return model


def solver(model):
    """fn(gray uint8 RGB, Hints) -> (its L, Levin's a*b* at SIZE px, the refiner's or None):
    remembered for the photo being measured, so the engines of one sweep (Levin alone, the
    refiner at each factor), all asked for the same photo and points, share one solve and call."""
    from tfcolor.core import colornp, levin
    from tfcolor.deploy import hinting
    from tfcolor.models import hint_refiner

    memo = {"photo": None, "found": {}}

    def solve(rgb, hints):
        photo = hashlib.blake2b(rgb.tobytes(), digest_size=16).digest()
        if photo != memo["photo"]:
            memo.update(photo=photo, found={})
        key = (tuple(hints.points), id(hints.scribble))
        if key not in memo["found"]:
            l_full = colornp.lightness(rgb)
            gray, hint_ab, mask = hinting.solve_inputs(l_full, hints, SIZE)
            ab, refined = levin.propagate(gray, hint_ab, mask[..., 0]), None
            if model is not None and mask.any():
                h, w = gray.shape
                x = hint_refiner.square_input(gray, ab, hint_ab, mask)[None]
                refined = model(x, training=False).numpy()[0, :h, :w]
            memo["found"][key] = l_full, ab, refined
        return memo["found"][key]

    return solve


def engine(model, factor=1.0, solve=None):
    """fn(gray uint8 RGB, Hints) -> uint8 RGB: Levin at SIZE px, then the refiner (None: Levin
    alone), its correction times ``factor``. ``solve``: a :func:`solver` shared with other
    engines (one of the refiner's own by default)."""
    from tfcolor.deploy import hinting

    solve = solve or solver(model)

    def colorize(rgb, hints):
        l_full, ab, refined = solve(rgb, hints)
        if model is not None and refined is not None:
            ab = ab + factor * (refined - ab)
        return hinting.with_ab(l_full, ab)

    return colorize


def ship(model_path, model_dir, factor):
    """Writes the refiner saved at ``model_path``, its correction times ``factor``, as
    ``model_dir``'s hint refiner, its weights stored as float16 (tfcolor.models.storage: half the
    file, deflated: 0.9 MB for the shipped one; written whole, then moved into place)."""
    from tfcolor.core import rundir
    from tfcolor.models import hint_refiner, storage

    target = rundir.path(model_dir, rundir.HINT_REFINER)
    scaled, partial = (target[:-len(".keras")] + suffix for suffix in (".float32.partial.keras", ".partial.keras"))
    try:
        hint_refiner.scale_correction(hint_refiner.load(model_path), factor).save(scaled)
        storage.save_half(scaled, partial)
    finally:
        if os.path.exists(scaled):
            os.remove(scaled)
    os.replace(partial, target)
    log(f"wrote {target} (its correction x{factor:g}, float16 weights)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
    parser.add_argument("--work_dir", default=os.path.join(ROOT, "runs", "quality_more"))
    parser.add_argument("--out", default=os.path.join(ROOT, "runs", "hint_refiner"))
    parser.add_argument("--draws", type=int, default=12, help="hint draws (examples) per training photo")
    parser.add_argument("--widths", default="16,32,64,128", help="the U-Net's filters per level")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--corrections", default="1",
                        help="also measure the refiner's correction times each of these factors")
    parser.add_argument("--global_context", action="store_true",
                        help="add the bottleneck's mean over the photo to every pixel's features")
    parser.add_argument("--chroma_scale", default="1,1",
                        help="LOW,HIGH: training a*b* times a log-uniform factor in [LOW, HIGH] (1,1: none)")
    parser.add_argument("--sets", default="val_photos,check_photos,snapshot_photos")
    parser.add_argument("--ship", default="",
                        help="also write the refiner, its correction times --ship_correction, as this model folder's "
                             "hint refiner (hint_refiner.keras: what colorize --hints and every export then run)")
    parser.add_argument("--ship_correction", type=float, default=0.5)
    args = parser.parse_args()
    from bench.hints import load_set
    from tfcolor.eval import hint_sweep

    work = os.path.abspath(args.work_dir)
    os.makedirs(args.out, exist_ok=True)
    data = build_examples(work, os.path.join(args.out, f"examples_{args.draws}.npy"), args.draws)
    model_path = os.path.join(args.out, f"refiner_seed{args.seed}.keras")
    if os.path.exists(model_path):
        import keras

        model = keras.models.load_model(model_path)
    else:
        model = train(data, [int(w) for w in args.widths.split(",")], args.steps, args.seed,
                      chroma_scale=tuple(float(v) for v in args.chroma_scale.split(",")),
                      global_context=args.global_context)
        model.save(model_path)
    if args.ship:
        ship(model_path, args.ship, args.ship_correction)
    solve = solver(model)  # one Levin solve and refiner call per photo and points for all engines
    engines = {"Levin 2004 alone": engine(None, solve=solve), "Levin + refiner": engine(model, solve=solve)}
    for factor in [float(f) for f in args.corrections.split(",") if f and float(f) != 1]:
        engines[f"Levin + refiner x{factor:g}"] = engine(model, factor, solve)
    results = {}
    for name in [n for n in args.sets.split(",") if n]:
        rows = hint_sweep.sweep(load_set(os.path.join(work, name)), engines, (1, 2, 5, 10, 20, 50), 0)
        curve = hint_sweep.curves(rows)
        results[name] = {e: {n: v[0] for n, v in c.items()} for e, c in curve.items()}
        log(f"{name} ({cpu_model()}):\n{hint_sweep.markdown(curve, len({r['photo'] for r in rows}))}")
    with open(os.path.join(args.out, f"curves_seed{args.seed}.json"), "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
