"""Sends photos to a TensorFlow Serving colouriser (REST or gRPC) and saves the answers.

The request/response code is in tfcolor/deploy/serving_api.py (tested without a server); this
module adds the flags and the network calls. REST needs nothing else; gRPC uses grpcio and
tensorflow-serving-api (both installed with tfcolor).

Example usage (TF Serving running the exported model, see README):

    python -m tfcolor.client --server=localhost:8501 --model=quickstart --input=photo.jpg --output_dir=out
    python -m tfcolor.client --protocol=grpc --server=localhost:8500 --model=quickstart --input=photos/
    python -m tfcolor.client --model=colorizer --input=photos/ --hints=hints/   # a hint generator's hints

--hints (a hint generator's model: its colorize_hints signature) takes the hint files of
colorize --hints (tfcolor.core.hints: JSON points or a scribble PNG; a folder of <photo
stem>.json); a photo with hints is sent as it is displayed (EXIF rotation applied, as PNG).
"""

import os
import sys
import urllib.error
import urllib.request

from absl import app, flags

from tfcolor.core import entry

from tfcolor.deploy import serving_api
from tfcolor.deploy.colorizer import collect_inputs, output_names, read_photo

flags.DEFINE_enum("protocol", "rest", ["rest", "grpc"], "How to talk to TF Serving.")
flags.DEFINE_string("server", "localhost:8501", "host:port (REST default port 8501, gRPC 8500).")
flags.DEFINE_string("model", "colorizer", "Model name in TF Serving.")
flags.DEFINE_integer("version", 0, "Model version (0: the server's latest).")
flags.DEFINE_list("input", None, "Photo files, globs or folders (sent as they are, encoded).")
flags.DEFINE_string("output_dir", "colorized", "Where the returned PNGs go.")
flags.DEFINE_integer("batch_size", 4, "Photos per request.")
flags.DEFINE_float("timeout", 120.0, "Seconds per request.")
flags.DEFINE_string("hints", None, "Colour hints (a hint generator's model): a JSON / scribble file for one photo, "
                    "or a folder of <photo stem>.json / <photo stem>_scribble.png (as colorize --hints).")
flags.mark_flag_as_required("input")
FLAGS = flags.FLAGS


def predict_rest(images, hint_points=None):
    url = serving_api.rest_url(FLAGS.server, FLAGS.model, FLAGS.version)
    body = serving_api.rest_request(images, hint_points=hint_points).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=FLAGS.timeout) as response:
            return serving_api.parse_rest_response(response.read())
    except urllib.error.HTTPError as e:  # TF Serving puts {"error": ...} in the body
        return serving_api.parse_rest_response(e.read())


def make_grpc_predict():
    import grpc
    from tensorflow_serving.apis import prediction_service_pb2_grpc

    channel = grpc.insecure_channel(FLAGS.server, options=[
        ("grpc.max_send_message_length", 512 << 20), ("grpc.max_receive_message_length", 512 << 20)])
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)

    def predict(images, hint_points=None):
        request = serving_api.grpc_request(images, FLAGS.model, FLAGS.version, hint_points=hint_points)
        try:
            return serving_api.parse_grpc_response(stub.Predict(request, timeout=FLAGS.timeout))
        except grpc.RpcError as e:
            raise serving_api.ServingError(f"{e.code().name}: {e.details()}") from e
    return predict


def main(argv):
    del argv
    from tfcolor.core.hints import HintError
    from tfcolor.core.images import SkipImage

    inputs, missing = collect_inputs(FLAGS.input)
    for spec in missing:
        print(f"warning: {spec}: no image files", file=sys.stderr)
    predict = predict_rest if FLAGS.protocol == "rest" else make_grpc_predict()
    names = output_names([name for _, name in inputs])
    done = 0
    for start in range(0, len(inputs), FLAGS.batch_size):
        batch = inputs[start:start + FLAGS.batch_size]
        images, rows = [], []
        for path, name in batch:
            try:
                image, hint_rows = _request_parts(path, name)
            except (HintError, SkipImage) as e:
                print(f"error: {path}: {e}", file=sys.stderr)
                image, hint_rows = None, None
            images.append(image)
            rows.append(hint_rows)
        sent = [i for i, image in enumerate(images) if image is not None]
        batch, images, rows = [batch[i] for i in sent], [images[i] for i in sent], [rows[i] for i in sent]
        names_sent = [names[start + i] for i in sent]
        hint_points = None if all(r is None for r in rows) else [r if r is not None else [] for r in rows]
        if not batch:
            continue
        try:
            outputs = predict(images, hint_points)
        except (serving_api.ServingError, OSError) as e:
            if len(batch) == 1:
                print(f"error: {batch[0][0]}: {e}", file=sys.stderr)
                continue
            outputs = []  # one bad photo fails its whole request: send them one by one
            for (path, _), image, hint_rows in zip(batch, images, rows):
                try:
                    outputs += predict([image], None if hint_rows is None else [hint_rows])
                except (serving_api.ServingError, OSError) as e1:
                    print(f"error: {path}: {e1}", file=sys.stderr)
                    outputs.append(None)
        for name, png in zip(names_sent, outputs):
            if png is None:
                continue
            target = os.path.join(FLAGS.output_dir, name)
            os.makedirs(os.path.dirname(target) or ".", exist_ok=True)
            with open(target, "wb") as f:
                f.write(png)
            done += 1
    print(f"{done} of {len(inputs)} photos colourised by {FLAGS.server} ({FLAGS.protocol}) into {FLAGS.output_dir}")
    return 0 if done else 1


def _request_parts(path, name):
    """(the photo's bytes to send, its hint rows [N, 6] or None)."""
    from tfcolor.deploy import hinting

    hint_file = hinting.hint_file_for(FLAGS.hints, name)
    if not hint_file:
        with open(path, "rb") as f:
            return f.read(), None
    import io

    from PIL import Image

    rgb, _ = read_photo(path)  # as displayed: the points' pixels
    hints = hinting.load_for_photo(hint_file, *rgb.shape[:2])
    if hints.reference:
        from tfcolor.core.hints import HintError

        raise HintError(f"{hint_file}: a reference photo is applied by python -m tfcolor.colorize, not by TF "
                        f"Serving: leave \"reference\" out to send the points")
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "PNG")
    return buffer.getvalue(), hinting.hint_rows(hints)


def run():
    """The console script's entry point (``--help`` as under ``python -m``)."""
    entry.run(main, __name__)


if __name__ == "__main__":
    run()
