"""Sends photos to a TensorFlow Serving colouriser (REST or gRPC) and saves the answers.

The request/response code is in tfcolor/deploy/serving_api.py (tested without a server); this
module adds the flags and the network calls. REST needs nothing else; gRPC uses grpcio and
tensorflow-serving-api (both installed with tfcolor).

Example usage (TF Serving running the exported model, see README):

    python -m tfcolor.client --server=localhost:8501 --model=quickstart --input=photo.jpg --output_dir=out
    python -m tfcolor.client --protocol=grpc --server=localhost:8500 --model=quickstart --input=photos/
"""

import os
import sys
import urllib.error
import urllib.request

from absl import app, flags

from tfcolor.deploy import serving_api
from tfcolor.deploy.colorizer import collect_inputs, output_names

flags.DEFINE_enum("protocol", "rest", ["rest", "grpc"], "How to talk to TF Serving.")
flags.DEFINE_string("server", "localhost:8501", "host:port (REST default port 8501, gRPC 8500).")
flags.DEFINE_string("model", "colorizer", "Model name in TF Serving.")
flags.DEFINE_integer("version", 0, "Model version (0: the server's latest).")
flags.DEFINE_list("input", None, "Photo files, globs or folders (sent as they are, encoded).")
flags.DEFINE_string("output_dir", "colorized", "Where the returned PNGs go.")
flags.DEFINE_integer("batch_size", 4, "Photos per request.")
flags.DEFINE_float("timeout", 120.0, "Seconds per request.")
flags.mark_flag_as_required("input")
FLAGS = flags.FLAGS


def predict_rest(images):
    url = serving_api.rest_url(FLAGS.server, FLAGS.model, FLAGS.version)
    body = serving_api.rest_request(images).encode()
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

    def predict(images):
        request = serving_api.grpc_request(images, FLAGS.model, FLAGS.version)
        try:
            return serving_api.parse_grpc_response(stub.Predict(request, timeout=FLAGS.timeout))
        except grpc.RpcError as e:
            raise serving_api.ServingError(f"{e.code().name}: {e.details()}") from e
    return predict


def main(argv):
    del argv
    inputs, missing = collect_inputs(FLAGS.input)
    for spec in missing:
        print(f"warning: {spec}: no image files", file=sys.stderr)
    predict = predict_rest if FLAGS.protocol == "rest" else make_grpc_predict()
    names = output_names([name for _, name in inputs])
    done = 0
    for start in range(0, len(inputs), FLAGS.batch_size):
        batch = inputs[start:start + FLAGS.batch_size]
        images = []
        for path, _ in batch:
            with open(path, "rb") as f:
                images.append(f.read())
        try:
            outputs = predict(images)
        except (serving_api.ServingError, OSError) as e:
            if len(batch) == 1:
                print(f"error: {batch[0][0]}: {e}", file=sys.stderr)
                continue
            outputs = []  # one bad photo fails its whole request: send them one by one
            for (path, _), image in zip(batch, images):
                try:
                    outputs += predict([image])
                except (serving_api.ServingError, OSError) as e1:
                    print(f"error: {path}: {e1}", file=sys.stderr)
                    outputs.append(None)
        for name, png in zip(names[start:start + FLAGS.batch_size], outputs):
            if png is None:
                continue
            target = os.path.join(FLAGS.output_dir, name)
            os.makedirs(os.path.dirname(target) or ".", exist_ok=True)
            with open(target, "wb") as f:
                f.write(png)
            done += 1
    print(f"{done} of {len(inputs)} photos colourised by {FLAGS.server} ({FLAGS.protocol}) into {FLAGS.output_dir}")
    return 0 if done else 1


def run():
    """The console script's entry point."""
    app.run(main)


if __name__ == "__main__":
    run()
