"""``colorize --runner=beam``: a photo archive coloured by an Apache Beam pipeline on RunInference.

The pipeline, for the photos not yet in the output folder (a rerun finishes what is missing):

    Create(photo paths) | Reshuffle
      | ParDo(ReadPhoto)                 decode (any Beam filesystem), its hint file; or skipped
      | RunInference(ColorizerHandler)   the model loaded once per worker process, shared by its
                                         threads; batches of up to NETWORK_BATCH photos, the
                                         network on the batch, the full-size recombination per photo
      | ParDo(WritePhoto)                PNG under a temporary name, then renamed; or skipped

Both the local command and this pipeline colour photos through
:func:`tfcolor.deploy.colorizer.colorize_photos` and encode them with its ``encode_png``: the
network runs on a fixed batch size there, so a photo's PNG is the same bytes whichever photos
share its batch, and the same as the local command's. The skipped photos of every worker are
gathered into one list (a JSON file in the output folder, read and removed by the driver);
Beam's counters give the totals.

Runner: tfcolor.core.beam.pipeline_options (the user's, else the offline in-process FnApiRunner
with ``num_workers`` processes).
"""

import dataclasses
import json
import logging
import os
import tempfile
import uuid

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.ml.inference.base import ModelHandler, PredictionResult, RunInference

from tfcolor.core import fs
from tfcolor.core.beam import pipeline_options
from tfcolor.deploy import colorizer  # hinting (TensorFlow) only in the workers: the driver starts fast

SKIPPED = "skipped"
COUNTERS = ("photos", "skipped", "bytes_written")
NAMESPACE = "tfcolor.colorize"


@dataclasses.dataclass
class Photo:
    """One decoded photo on its way through the pipeline."""

    index: int  # its place in the run's input list (the skipped list keeps that order)
    path: str
    target: str
    rgb: object  # uint8 [H, W, 3]
    alpha: object = None  # uint8 [H, W] or None
    hints: object = None  # tfcolor.core.hints.Hints or None


def _counter(name):
    return Metrics.counter(NAMESPACE, name)


class ReadPhoto(beam.DoFn):
    """(index, path, input name, target) -> Photo, or (index, path, reason) on SKIPPED."""

    def __init__(self, hints_path, max_pixels):
        self.hints_path = hints_path
        self.max_pixels = max_pixels

    def setup(self):
        self.skipped = _counter("skipped")

    def process(self, job):
        index, path, name, target = job
        try:
            rgb, alpha = colorizer.read_photo(path, self.max_pixels, fs.read_bytes if fs.is_remote(path) else None)
            hints = _hints_for(self.hints_path, name, *rgb.shape[:2])
        except Exception as e:  # noqa: BLE001 (a bad photo must not stop the others)
            self.skipped.inc()
            yield beam.pvalue.TaggedOutput(SKIPPED, (index, path, colorizer.failure(e)))
            return
        yield Photo(index, path, target, rgb, alpha, hints)


def _hints_for(hints_path, name, height, width):
    """The photo's hints (None: it has none); a hint file on another filesystem is fetched
    through Beam's (a reference photo named in it must be readable by the worker)."""
    from tfcolor.deploy import hinting

    hint_file = hinting.hint_file_for(hints_path, name)
    if not hint_file or not fs.is_remote(hint_file):
        return hint_file and hinting.load_for_photo(hint_file, height, width)
    with tempfile.TemporaryDirectory() as tmp:
        local = fs.fetch(hint_file, tmp)
        try:
            return hinting.load_for_photo(local, height, width)
        except hinting.hint_format.HintError as e:
            raise hinting.hint_format.HintError(str(e).replace(local, hint_file)) from None


class ColorizerHandler(ModelHandler):
    """RunInference's handler for tfcolor's colourisers: a training run (the shipped model too),
    a SavedModel or a .tflite file (tfcolor.deploy.colorizer.load_colorizer). Examples are
    :class:`Photo`; each inference is (uint8 RGB, None) or (None, the reason it failed)."""

    def __init__(self, model, threads=None, render_size=0, chroma_gain=0.0):
        super().__init__()
        self.model = model
        self.threads = threads
        self.render_size = render_size
        self.chroma_gain = chroma_gain

    def load_model(self):
        # TensorFlow keeps its default threads (all cores), as in the local command: the network's
        # float sums depend on the thread count, and the PNGs are to be the local command's bytes.
        load = lambda model: colorizer.load_colorizer(  # noqa: E731
            model, self.threads, self.render_size, self.chroma_gain)[0]
        if not fs.is_remote(self.model):
            return load(self.model)
        # A model on another filesystem is copied here for the load only, as hint files are
        # (every model kind is read whole, or mapped, by then).
        with tempfile.TemporaryDirectory(prefix="tfcolor-model-") as tmp:
            return load(fs.fetch(self.model, tmp))

    def run_inference(self, batch, model, inference_args=None):
        results = colorizer.colorize_photos(model, [(photo.rgb, photo.hints) for photo in batch])
        return [PredictionResult(photo, result) for photo, result in zip(batch, results)]

    def batch_elements_kwargs(self):
        # Full batches: the network always computes NETWORK_BATCH photos (padded), so Beam's
        # adaptive batch sizes (from 1 up) would pay for 8 photos to colour one.
        return {"min_batch_size": colorizer.NETWORK_BATCH, "max_batch_size": colorizer.NETWORK_BATCH}

    def get_num_bytes(self, batch):
        return sum(photo.rgb.nbytes for photo in batch)


class WritePhoto(beam.DoFn):
    """PredictionResult -> the PNG (and side-by-side) written whole; (index, path, reason) on
    SKIPPED when colouring failed."""

    def __init__(self, side_by_side, overwrite=False):
        self.side_by_side = side_by_side
        self.overwrite = overwrite

    def setup(self):
        self.counters = {name: _counter(name) for name in COUNTERS}

    def process(self, prediction):
        photo, (rgb, reason) = prediction.example, prediction.inference
        if rgb is None:
            self.counters["skipped"].inc()
            yield beam.pvalue.TaggedOutput(SKIPPED, (photo.index, photo.path, reason))
            return
        outputs = [(photo.target, colorizer.encode_png(rgb, photo.alpha))]
        if self.side_by_side:
            outputs.append((side_by_side_name(photo.target),
                            colorizer.encode_png(colorizer.side_by_side(photo.rgb, rgb))))
        for target, data in outputs:
            if not self.overwrite and fs.exists(target):
                continue  # written by an earlier run (a photo whose side-by-side was missing)
            fs.makedirs(os.path.dirname(target) or ".")
            fs.write_bytes_atomic(target, data)
            self.counters["bytes_written"].inc(len(data))
        self.counters["photos"].inc()
        yield photo.index


def side_by_side_name(target):
    return os.path.splitext(target)[0] + "_side_by_side.png"


def _write_skipped(entries, path):
    fs.write_json_atomic(path, sorted(entries))


def pending(jobs, output_dir, side_by_side):
    """The (index, path, name, target) jobs whose outputs are not all in ``output_dir`` yet."""
    present = set(fs.list_tree(output_dir)) if fs.is_remote(output_dir) else None

    def done(target):
        wanted = [target] + ([side_by_side_name(target)] if side_by_side else [])
        return all(t in present if present is not None else os.path.exists(t) for t in wanted)

    return [job for job in jobs if not done(job[3])]


def collect_inputs(specs, recursive=True, extensions=None):
    """:func:`tfcolor.deploy.colorizer.collect_inputs` for paths on any Beam filesystem: a
    remote spec is a file, a glob, or a folder (every file below it with a photo extension)."""
    from tfcolor.core.images import IMAGE_EXTENSIONS

    extensions = extensions or IMAGE_EXTENSIONS
    found, missing = [], []
    for spec in specs:
        if not fs.is_remote(spec):
            local_found, local_missing = colorizer.collect_inputs([spec], recursive, extensions)
            found += local_found
            missing += local_missing
            continue
        if any(c in spec for c in "*?["):
            paths = [(p, p.rsplit("/", 1)[-1]) for p in fs.match(spec)]
        elif fs.is_file(spec):
            paths = [(spec, spec.rsplit("/", 1)[-1])]
        else:
            prefix = spec.rstrip("/") + "/"
            paths = [(p, p[len(prefix):]) for p in fs.list_tree(spec)
                     if p.lower().endswith(extensions) and (recursive or "/" not in p[len(prefix):])]
        paths = [(p, name) for p, name in paths if p.lower().endswith(extensions)]
        if not paths:
            missing.append(spec)
        found += [entry for entry in paths if entry[0] not in {f for f, _ in found}]
    return found, missing


def colorize_archive(jobs, output_dir, model, hints=None, max_pixels=200_000_000, side_by_side=False,
                     overwrite=False, render_size=0, chroma_gain=0.0, threads=None, num_workers=None, beam_options="", log=print):
    """Runs the pipeline over ``jobs`` ((index, path, input name, target) each); returns
    (counters {photos, skipped, bytes_written}, skipped [(path, reason)] in input order)."""
    logging.getLogger("apache_beam").setLevel(logging.WARNING)  # the runner's chatter
    num_workers = num_workers or os.cpu_count()
    options, runner = pipeline_options(beam_options, num_workers)
    shown = type(runner).__name__ if runner else options.get_all_options()["runner"]
    log(f"beam: {len(jobs)} photo(s) on {shown}")
    skipped_file = fs.join(output_dir, f".tfcolor-skipped-{uuid.uuid4().hex[:12]}.json")
    fs.makedirs(output_dir)
    pipeline = beam.Pipeline(runner=runner, options=options)
    read = (pipeline
            | "photos" >> beam.Create(jobs)
            | "spread" >> beam.Reshuffle()
            | "read" >> beam.ParDo(ReadPhoto(hints, max_pixels)).with_outputs(SKIPPED, main="photos"))
    written = (read.photos
               | "colourise" >> RunInference(ColorizerHandler(model, threads, render_size, chroma_gain))
               | "write" >> beam.ParDo(WritePhoto(side_by_side, overwrite)).with_outputs(SKIPPED, main="written"))
    _ = ((read[SKIPPED], written[SKIPPED])
         | "all skipped" >> beam.Flatten()
         | "one list" >> beam.combiners.ToList()
         | "write list" >> beam.Map(_write_skipped, skipped_file))
    result = pipeline.run()
    result.wait_until_finish()
    found = {r.key.metric.name: r.committed for r in result.metrics().query()["counters"]
             if r.key.metric.namespace == NAMESPACE}
    counters = {name: found.get(name, 0) for name in COUNTERS}
    entries = json.loads(fs.read_text(skipped_file)) if fs.exists(skipped_file) else []
    if fs.exists(skipped_file):
        fs.remove([skipped_file])
    return counters, [(path, reason) for _, path, reason in entries]
