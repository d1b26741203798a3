"""Sends photos to a TensorFlow Serving colouriser (REST or gRPC) and saves the answers.

The request/response code is in tfcolor/deploy/serving_api.py (tested without a server); this
module adds the flags and the network calls. REST needs nothing else; gRPC uses grpcio and
tensorflow-serving-api (both installed with tfcolor).

Example usage (TF Serving running the exported model, see README):

    python -m tfcolor.client --server=localhost:8501 --model=quickstart --input=photo.jpg --output_dir=out
    python -m tfcolor.client --protocol=grpc --server=localhost:8500 --model=quickstart --input=photos/
    python -m tfcolor.client --model=colorizer --input=photos/ --hints=hints/

--hints takes the hint files of colorize --hints (tfcolor.core.hints: JSON points or a scribble
PNG; a folder of <photo stem>.json); a photo with hints is sent as it is displayed (EXIF rotation
applied, as PNG). The client asks the server for the model's signatures and sends the points
and scribble pixels as rows (tfcolor.deploy.serving_api): a hint generator's model reads them
(its colorize_hints signature); any other model (the shipped one) propagates them in its graph
(propagate_hints: Levin et al. 2004, as colorize does). A reference photo is applied here,
around the server's colours, as colorize applies it; so are all hints for a SavedModel exported
without a hints signature (by an earlier tfcolor).
"""

import os
import sys
import urllib.error
import urllib.request

from absl import app, flags

from tfcolor.core import entry

from tfcolor.deploy import hinting, serving_api  # (hinting: numpy alone)
from tfcolor.deploy.colorizer import collect_inputs, output_names, read_photo

flags.DEFINE_enum("protocol", "rest", ["rest", "grpc"], "How to talk to TF Serving.")
flags.DEFINE_string("server", "localhost:8501", "host:port (REST default port 8501, gRPC 8500).")
flags.DEFINE_string("model", "colorizer", "Model name in TF Serving.")
flags.DEFINE_integer("version", 0, "Model version (0: the server's latest).")
flags.DEFINE_list("input", None, "Photo files, globs or folders (sent as they are, encoded).")
flags.DEFINE_string("output_dir", "colorized", "Where the returned PNGs go.")
flags.DEFINE_integer("batch_size", 4, "Photos per request.")
flags.DEFINE_float("timeout", 120.0, "Seconds per request.")
flags.DEFINE_string("hints", None, "Colour hints: a JSON / scribble file for one photo, or a folder of "
                    "<photo stem>.json / <photo stem>_scribble.png (as colorize --hints); sent to the model's hints "
                    "signature (a reference photo is applied here, around the server's colours).")
flags.mark_flag_as_required("input")
FLAGS = flags.FLAGS


def predict_rest(images, hint_points=None, signature=None):
    url = serving_api.rest_url(FLAGS.server, FLAGS.model, FLAGS.version)
    body = serving_api.rest_request(images, signature, hint_points).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=FLAGS.timeout) as response:
            return serving_api.parse_rest_response(response.read())
    except urllib.error.HTTPError as e:  # TF Serving puts {"error": ...} in the body
        return serving_api.parse_rest_response(e.read())


def signatures_rest():
    request = urllib.request.Request(serving_api.rest_metadata_url(FLAGS.server, FLAGS.model, FLAGS.version))
    try:
        with urllib.request.urlopen(request, timeout=FLAGS.timeout) as response:
            return serving_api.parse_rest_signatures(response.read())
    except urllib.error.HTTPError as e:
        return serving_api.parse_rest_signatures(e.read())


def make_grpc_predict():
    import grpc
    from tensorflow_serving.apis import prediction_service_pb2_grpc

    channel = grpc.insecure_channel(FLAGS.server, options=[
        ("grpc.max_send_message_length", 512 << 20), ("grpc.max_receive_message_length", 512 << 20)])
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)

    def predict(images, hint_points=None, signature=None):
        request = serving_api.grpc_request(images, FLAGS.model, FLAGS.version, signature, hint_points)
        try:
            return serving_api.parse_grpc_response(stub.Predict(request, timeout=FLAGS.timeout))
        except grpc.RpcError as e:
            raise serving_api.ServingError(f"{e.code().name}: {e.details()}") from e

    def signatures():
        request = serving_api.grpc_metadata_request(FLAGS.model, FLAGS.version)
        try:
            return serving_api.parse_grpc_signatures(stub.GetModelMetadata(request, timeout=FLAGS.timeout))
        except grpc.RpcError as e:
            raise serving_api.ServingError(f"{e.code().name}: {e.details()}") from e
    return predict, signatures


def main(argv):
    del argv
    from tfcolor.core.hints import HintError
    from tfcolor.core.images import SkipImage

    inputs, missing = collect_inputs(FLAGS.input)
    for spec in missing:
        print(f"warning: {spec}: no image files", file=sys.stderr)
    predict, signatures = (predict_rest, signatures_rest) if FLAGS.protocol == "rest" else make_grpc_predict()
    engine = None  # the server's hints signature, if any (serving_api: colorize_hints or propagate_hints)
    if FLAGS.hints:
        try:
            served = signatures()
        except (serving_api.ServingError, OSError) as e:
            raise SystemExit(f"error: {FLAGS.server}: cannot read the signatures of model {FLAGS.model!r}: {e}")
        engine = next((s for s in (serving_api.HINTS_SIGNATURE, serving_api.PROPAGATE_SIGNATURE) if s in served), None)
        if engine is None:
            print(f"{FLAGS.model} has no hints signature: they are propagated here around its colours (Levin et al. "
                  f"2004)")
    names = output_names([name for _, name in inputs])
    done = 0
    for start in range(0, len(inputs), FLAGS.batch_size):
        batch = inputs[start:start + FLAGS.batch_size]
        images, rows, hinted = [], [], []
        for path, name in batch:
            try:
                image, hints, rgb = _request_parts(path, name)
            except (HintError, SkipImage) as e:
                print(f"error: {path}: {e}", file=sys.stderr)
                image, hints, rgb = None, None, None
            images.append(image)
            # Rows for the server's engine; around a propagating one a reference photo is applied
            # here, points and scribbles with it (hinting.hinted: the colours pulled towards it).
            here = hints is not None and (engine is None or (engine == serving_api.PROPAGATE_SIGNATURE
                                                             and hints.reference))
            rows.append(hinting.hint_rows(hints) if hints is not None and not here else None)
            hinted.append((hints, rgb) if hints is not None and (here or hints.reference) else None)
        sent = [i for i, image in enumerate(images) if image is not None]
        batch, images, rows = [batch[i] for i in sent], [images[i] for i in sent], [rows[i] for i in sent]
        hinted, names_sent = [hinted[i] for i in sent], [names[start + i] for i in sent]
        hint_points = None if all(r is None for r in rows) else [r if r is not None else [] for r in rows]
        signature = engine if hint_points is not None else None
        if not batch:
            continue
        try:
            outputs = predict(images, hint_points, signature)
        except (serving_api.ServingError, OSError) as e:
            if len(batch) == 1:
                print(f"error: {batch[0][0]}: {e}", file=sys.stderr)
                continue
            outputs = []  # one bad photo fails its whole request: send them one by one
            for (path, _), image, hint_rows in zip(batch, images, rows):
                try:
                    outputs += predict([image], None if hint_rows is None else [hint_rows],
                                       None if hint_rows is None else engine)
                except (serving_api.ServingError, OSError) as e1:
                    print(f"error: {path}: {e1}", file=sys.stderr)
                    outputs.append(None)
        for (path, _), name, png, local_hints in zip(batch, names_sent, outputs, hinted):
            if png is None:
                continue
            if local_hints:
                try:
                    png = _hinted_here(png, *local_hints, by_network=engine == serving_api.HINTS_SIGNATURE)
                except (HintError, SkipImage, OSError) as e:  # e.g. an unreadable reference photo
                    print(f"error: {path}: {e}", file=sys.stderr)
                    continue
            target = os.path.join(FLAGS.output_dir, name)
            os.makedirs(os.path.dirname(target) or ".", exist_ok=True)
            with open(target, "wb") as f:
                f.write(png)
            done += 1
    print(f"{done} of {len(inputs)} photos colourised by {FLAGS.server} ({FLAGS.protocol}) into {FLAGS.output_dir}")
    return 0 if done else 1


def _request_parts(path, name):
    """(the photo's bytes to send, its hints or None, the photo as displayed or None)."""
    hint_file = hinting.hint_file_for(FLAGS.hints, name)
    if not hint_file:
        with open(path, "rb") as f:
            return f.read(), None, None
    rgb, _ = read_photo(path)  # as displayed: the points' pixels
    hints = hinting.load_for_photo(hint_file, *rgb.shape[:2])
    return _png(rgb), hints, rgb


def _png(rgb):
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "PNG")
    return buffer.getvalue()


def _hinted_here(png, hints, rgb, by_network):
    """What colorize makes of ``rgb`` with ``hints``, from the server's colours (PNG): a hint
    generator's hinted colours moved to the reference photo's; any other model's automatic colours
    corrected by the hints (and the reference) here."""
    import io

    import numpy as np
    from PIL import Image

    colours = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    network = (lambda *_: colours) if by_network else None
    return _png(hinting.hinted(lambda _: colours, hints, rgb, network=network))


def run():
    """The console script's entry point (``--help`` as under ``python -m``)."""
    entry.run(main, __name__)


if __name__ == "__main__":
    run()
