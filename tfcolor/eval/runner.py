"""Evaluation of a colouriser on real photos (library of ``python -m tfcolor.evaluate``).

Every metric is computed on RGB images at the photo's stored resolution (or at the
``eval_size`` square): the model gets the gray version of each photo (its L with ab = 0), and
its output is compared with the real colours. The same metrics on the gray input itself are
the floor every model must beat.

The photos stream through in batches (``tfcolor.eval.streams``): a batch is colourised at once
where the model takes batches, measured in padded metric batches that mix sizes
(``metrics.padded_batch``), and its rows are appended to ``per_image.jsonl`` in the output
folder (Inception features for FID to ``fid_features.f32``). An interrupted evaluation started
again with the same settings goes on from there (``ResultsLog``).
"""

import json
import os

import numpy as np

from tfcolor.core import fs

PER_IMAGE_METRICS = ("psnr", "ssim", "mae", "uiqi", "colorfulness", "delta_colorfulness", "lpips")
# Padded pixels per metric batch (model and gray). Small batches keep the intermediates small:
# on 2 cores one 1024x640 photo per batch measured 13.3 photos/s against 6.1 with four, while
# at 256x256 four to eight per batch beat one (119 vs 59 photos/s). ~200 MB at peak.
METRIC_PIXELS = 1_500_000


class ResultsLog:
    """The rows measured so far in ``output_dir``: per_image.jsonl (one JSON row per photo),
    fid_features.f32 (per photo: model, gray, truth Inception features), run.json (the settings
    they belong to). Rows are appended after their features, so a kill at any moment leaves a
    prefix that a rerun trims and continues from."""

    ROWS, FEATURES, SETTINGS = "per_image.jsonl", "fid_features.f32", "run.json"

    def __init__(self, output_dir, settings, overwrite=False, feature_dim=2048):
        self.dir = output_dir
        self.feature_row = 3 * feature_dim
        os.makedirs(output_dir, exist_ok=True)
        paths = [self._path(n) for n in (self.ROWS, self.FEATURES, self.SETTINGS)]
        previous = self._read_json(self._path(self.SETTINGS))
        if previous is not None and previous != settings and not overwrite:
            changed = sorted(k for k in set(previous) | set(settings) if previous.get(k) != settings.get(k))
            raise ValueError(f"{output_dir} holds an evaluation with other settings ({', '.join(changed)}); "
                             "pass --overwrite to start it again, or choose another --output_dir")
        if overwrite or previous != settings:
            for path in paths:
                if os.path.exists(path):
                    os.remove(path)
        with open(self._path(self.SETTINGS), "w") as f:
            f.write(fs.json_text(settings, indent=1))
        self.rows = self._read_rows()
        self._trim_features(len(self.rows))
        self.done = {row["key"] for row in self.rows}

    def _path(self, name):
        return os.path.join(self.dir, name)

    @staticmethod
    def _read_json(path):
        try:
            with open(path) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def _read_rows(self):
        rows, good_bytes = [], 0
        path = self._path(self.ROWS)
        if not os.path.exists(path):
            return rows
        with open(path, "rb") as f:
            for line in f:
                try:
                    rows.append(_nan_for_null(json.loads(line)))
                except ValueError:
                    break  # a line cut by a kill: dropped with everything after it
                good_bytes += len(line)
        with open(path, "r+b") as f:
            f.truncate(good_bytes)
        return rows

    def _trim_features(self, count):
        path = self._path(self.FEATURES)
        if os.path.exists(path):
            with open(path, "r+b") as f:
                f.truncate(min(os.path.getsize(path), count * self.feature_row * 4))

    def append(self, rows, features=None):
        if features is not None:
            with open(self._path(self.FEATURES), "ab") as f:
                f.write(np.asarray(features, np.float32).tobytes())
        with open(self._path(self.ROWS), "a") as f:
            f.writelines(fs.json_text(row, indent=None) + "\n" for row in rows)
        self.rows.extend(rows)
        self.done.update(row["key"] for row in rows)

    def fid(self, chunk=1024):
        """FID of the model's and the gray input's features against the real photos', from the
        features file: in chunks (mean and covariance from running sums in float64), or from the
        features themselves when there are fewer photos than feature dimensions."""
        from tfcolor.eval import metrics

        path = self._path(self.FEATURES)
        if not os.path.exists(path):
            return {}
        data = np.memmap(path, np.float32, "r").reshape(-1, 3, self.feature_row // 3)
        count = len(data)
        if count < 2:
            return {}
        if count < data.shape[2]:  # fewer photos than features: exact from the features themselves
            block = np.asarray(data, np.float64)
            return {who: metrics.frechet_distance_of_features(block[:, s], block[:, 2])
                    for s, who in enumerate(("model", "gray"))}
        sums = np.zeros((3, data.shape[2]))
        products = np.zeros((3, data.shape[2], data.shape[2]))
        for start in range(0, count, chunk):
            block = np.asarray(data[start:start + chunk], np.float64)
            sums += block.sum(axis=0)
            products += np.einsum("nsi,nsj->sij", block, block)
        means = sums / count
        covariances = (products - count * np.einsum("si,sj->sij", means, means)) / (count - 1)
        return {who: metrics.frechet_distance(means[s], covariances[s], means[2], covariances[2])
                for s, who in enumerate(("model", "gray"))}


def equal_shape_runs(images):
    """(start, end) of each run of consecutive images with the same shape."""
    runs, start = [], 0
    while start < len(images):
        end = start + 1
        while end < len(images) and images[end].shape == images[start].shape:
            end += 1
        runs.append((start, end))
        start = end
    return runs


def colorize_batch(colorize, images):
    """Colourises a list of uint8 photos: runs of equal size go through ``colorize.batch`` at
    once when the colouriser has it (Keras generators and SavedModels), else one by one."""
    batch = getattr(colorize, "batch", None)
    if batch is None:
        return [colorize(image) for image in images]
    return [out for start, end in equal_shape_runs(images) for out in batch(np.stack(images[start:end]))]


def _metric_groups(shapes, budget=METRIC_PIXELS):
    """Consecutive index ranges whose padded model + gray batch stays within ``budget`` pixels."""
    from tfcolor.eval import metrics

    groups, start = [], 0
    while start < len(shapes):
        end = start + 1
        while end < len(shapes):
            height, width = metrics.padded_shape(shapes[start:end + 1])
            if 2 * metrics.padded_count(end + 1 - start) * height * width > budget:
                break
            end += 1
        groups.append((start, end))
        start = end
    return groups


def measure(photos, colorized, lpips=None):
    """Per-photo rows {key, size, truth_colorfulness, model: {...}, gray: {...}}."""
    from tfcolor.eval import metrics

    rows = []
    for start, end in _metric_groups([p.truth.shape for p in photos]):
        group = photos[start:end]
        preds, sizes = metrics.padded_batch([*colorized[start:end], *(p.gray for p in group)])
        truths, _ = metrics.padded_batch([p.truth for p in group] * 2)
        values = {k: v.numpy() for k, v in metrics.image_metrics(preds, truths, sizes).items()}
        truth_cf = metrics.colorfulness(truths[:len(group)], sizes[:len(group)]).numpy()
        n = len(group)
        for i, photo in enumerate(group):
            row = {"key": photo.key, "size": list(photo.truth.shape[:2]), "truth_colorfulness": float(truth_cf[i])}
            for who, j in (("model", i), ("gray", n + i)):
                row[who] = {name: float(values[name][j]) for name in ("psnr", "ssim", "mae", "uiqi", "colorfulness")}
                row[who]["delta_colorfulness"] = row[who]["colorfulness"] - row["truth_colorfulness"]
            rows.append(row)
    if lpips is not None:
        _add_lpips(rows, photos, colorized, lpips)
    return rows


def _add_lpips(rows, photos, colorized, lpips):
    # Runs of equal size in one call: LPIPS's network must see no padding.
    for start, end in equal_shape_runs([p.truth for p in photos]):
        truth = np.stack([p.truth for p in photos[start:end]])
        for who, images in (("model", colorized[start:end]), ("gray", [p.gray for p in photos[start:end]])):
            for row, value in zip(rows[start:end], lpips(np.stack(images), truth).numpy(), strict=True):
                row[who]["lpips"] = float(value)


def inception_rows(inception, photos, colorized):
    """[N, 3 * D] features of (model, gray, truth) per photo, Inception run on batches of 32."""
    images = [image for photo, out in zip(photos, colorized, strict=True) for image in (out, photo.gray, photo.truth)]
    features = np.concatenate([np.asarray(inception(images[i:i + 32])) for i in range(0, len(images), 32)])
    return features.reshape(len(photos), -1)


def evaluate(colorize, photos, log, lpips=None, inception=None, keep=8, batch_size=16, progress=None,
             hints_for=None):
    """Measures every photo of the stream ``photos`` not already in ``log`` (a ResultsLog),
    ``batch_size`` at a time. Returns the first ``keep`` (gray, colourised, truth) triples for
    the grid (photos measured before a resume are colourised again for it). ``hints_for(photo)``:
    the user hints each photo is coloured with (``colorize.hinted``; :func:`protocol_hints`)."""
    kept, batch = [], []

    def colorize_all(photos):
        if hints_for is None:
            return colorize_batch(colorize, [p.gray for p in photos])
        return [colorize.hinted(p.gray, hints_for(p)) for p in photos]

    def flush():
        if not batch:
            return
        colorized = colorize_all(batch)
        for photo, out in zip(batch, colorized, strict=True):
            if len(kept) < keep:
                kept.append((photo.gray, out, photo.truth))
        features = inception_rows(inception, batch, colorized) if inception is not None else None
        log.append(measure(batch, colorized, lpips), features)
        if progress is not None:
            progress.update(len(batch))
        batch.clear()

    for photo in photos:
        if photo.key in log.done:
            if len(kept) + len(batch) < keep:
                flush()  # the grid keeps the stream's order
                kept.append((photo.gray, colorize_all([photo])[0], photo.truth))
            if progress is not None:
                progress.update()
            continue
        batch.append(photo)
        if len(batch) >= batch_size:
            flush()
    flush()
    return kept


def protocol_hints(count, seed=0):
    """``hints_for`` of :func:`evaluate`: ``count`` points drawn from each photo's truth by
    Zhang et al.'s test protocol (tfcolor.core.hints.protocol_points), seeded by the photo's key,
    so every model and every rerun gets the same points."""
    import zlib

    from tfcolor.core import hints

    def hints_for(photo):
        rng = np.random.default_rng([seed, zlib.crc32(photo.key.encode())])
        ab = hints.lab_of_rgb(photo.truth)[..., 1:]
        return hints.Hints(hints.protocol_points(ab, count, rng))

    return hints_for


def summarize(per_image, fid):
    """Means over the images for the model and the gray baseline."""
    truth_cf = float(np.mean([row["truth_colorfulness"] for row in per_image]))
    summary = {"truth": {"colorfulness": truth_cf}}
    for who in ("model", "gray"):
        names = [n for n in PER_IMAGE_METRICS if per_image and n in per_image[0][who]]
        means = {n: float(np.mean([row[who][n] for row in per_image])) for n in names}
        # Delta CF of the means (as the colourisation papers report it), signed and absolute.
        means["delta_colorfulness"] = means["colorfulness"] - truth_cf
        means["delta_colorfulness_abs"] = abs(means["delta_colorfulness"])
        if who in fid:
            means["fid"] = fid[who]
        summary[who] = means
    return summary


def _nan_for_null(value):
    """A row read back: the nulls written for non-finite measures (fs.finite) as NaN again."""
    if isinstance(value, dict):
        return {k: _nan_for_null(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_nan_for_null(v) for v in value]
    return float("nan") if value is None else value
