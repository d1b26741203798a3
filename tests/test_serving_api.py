"""TF Serving plumbing without a server: REST JSON and gRPC PredictRequest building and
parsing, the warmup records, models.config, and the export and client commands."""

import base64
import http.server
import io
import json
import os
import threading

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image
from tensorflow_serving.apis import predict_pb2

from tests.conftest import photo, photo_crops, png_bytes, run_module, write_lab_shard
from tfcolor import models
from tfcolor.deploy import serving, serving_api


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    keras.utils.set_random_seed(0)
    generator = models.build_generator("unet_small", image_size=32, base_filters=8)
    path = str(tmp_path_factory.mktemp("sm") / "colorizer" / "1")
    serving.export_saved_model(generator, 32, path, name="colorizer")
    return path, tf.saved_model.load(path)


def test_rest_request_is_tf_serving_row_format_with_base64():
    images = [b"\x89PNG\x00\xff", b"\xff\xd8jpeg"]
    body = json.loads(serving_api.rest_request(images))
    assert body == {"signature_name": "serving_default",
                    "instances": [{"b64": base64.b64encode(i).decode()} for i in images]}
    assert serving_api.rest_url("localhost:8501", "colorizer") == "http://localhost:8501/v1/models/colorizer:predict"
    assert (serving_api.rest_url("https://host:9000/", "m", 3)
            == "https://host:9000/v1/models/m/versions/3:predict")


def test_rest_response_parsing():
    pngs = [b"\x89PNG-one", b"\x89PNG-two"]
    row = json.dumps({"predictions": [{"b64": base64.b64encode(p).decode()} for p in pngs]})
    assert serving_api.parse_rest_response(row) == pngs
    columnar = json.dumps({"outputs": [{"b64": base64.b64encode(p).decode()} for p in pngs]})
    assert serving_api.parse_rest_response(columnar) == pngs
    with pytest.raises(serving_api.ServingError, match="Invalid argument: empty image bytes"):
        serving_api.parse_rest_response('{"error": "Invalid argument: empty image bytes"}')
    with pytest.raises(serving_api.ServingError, match="b64"):  # an output without _bytes suffix
        serving_api.parse_rest_response('{"predictions": ["\\u0089PNG"]}')


@pytest.mark.slow
def test_grpc_request_fields_and_a_round_trip_through_the_saved_model(exported):
    _, loaded = exported
    images = [png_bytes(photo("coffee")[:50, :70]), png_bytes(photo("chelsea")[:40, :30])]
    request = serving_api.grpc_request(images, "colorizer", version=3)
    assert request.model_spec.name == "colorizer" and request.model_spec.version.value == 3
    assert request.model_spec.signature_name == "serving_default"
    tensor = request.inputs["images_bytes"]
    assert tensor.dtype == tf.string.as_datatype_enum and [d.size for d in tensor.tensor_shape.dim] == [2]
    assert list(tensor.string_val) == images
    # What the server does: tensor proto -> signature -> tensor proto.
    outputs = loaded.signatures["serving_default"](images_bytes=tf.constant(tf.make_ndarray(tensor)))
    response = predict_pb2.PredictResponse()
    for key, value in outputs.items():
        response.outputs[key].CopyFrom(tf.make_tensor_proto(value))
    sizes = [Image.open(io.BytesIO(p)).size for p in serving_api.parse_grpc_response(response)]
    assert sizes == [(70, 50), (30, 40)]


def test_signature_keys_make_rest_return_base64(exported):
    _, loaded = exported
    signature = loaded.signatures["serving_default"]
    assert list(signature.structured_input_signature[1]) == [serving_api.INPUT_KEY]
    assert list(signature.structured_outputs) == [serving_api.OUTPUT_KEY]
    assert serving_api.OUTPUT_KEY.endswith("_bytes")  # TF Serving's rule for base64 outputs


def test_warmup_records_are_valid_requests_the_model_answers(exported):
    path, loaded = exported
    requests = serving_api.read_warmup(path)
    assert [r.model_spec.signature_name for r in requests] == ["serving_default"] * 2 + ["propagate_hints"]
    answers = []
    for request in requests:
        assert request.model_spec.name == "colorizer"
        data = tf.make_ndarray(request.inputs["images_bytes"])
        out = loaded.signatures[request.model_spec.signature_name](
            **{key: tf.constant(tf.make_ndarray(value)) for key, value in request.inputs.items()})
        answers.append(tf.io.decode_png(out["colorized_bytes"][0]).numpy())
        assert answers[-1].shape == tf.io.decode_png(data[0]).numpy().shape
    height, width = answers[2].shape[:2]  # the hint point's colour at the centre
    assert answers[2][height // 2, width // 2, 0] > answers[2][height // 2, width // 2, 2] + 40


def test_models_config_lists_every_exported_model(tmp_path):
    for name in ("a", "b"):
        os.makedirs(tmp_path / name / "1")
    os.makedirs(tmp_path / "not_a_model")
    path = serving.write_models_config(str(tmp_path))
    text = open(path).read()
    assert text.count("config {") == 2
    assert 'name: "a"' in text and 'base_path: "/models/b"' in text and "not_a_model" not in text
    assert text.startswith("model_config_list {") and text.count("{") == text.count("}")


class FakeServing(http.server.BaseHTTPRequestHandler):
    """TF Serving's REST predict contract, answered in-process by the SavedModel ``loaded``, the
    signature the request names; ``seen``: those names."""

    loaded = None
    seen = []

    def do_POST(self):  # noqa: N802
        assert self.path == "/v1/models/colorizer:predict"
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        name = body.get("signature_name", "serving_default")
        self.seen.append(name)
        signature, rows = self.loaded.signatures[name], body["instances"]
        if "b64" in rows[0]:  # one input: the row is the image
            inputs = {"images_bytes": [base64.b64decode(row["b64"]) for row in rows]}
        else:  # named inputs
            inputs = {key: [base64.b64decode(row[key]["b64"]) if key == "images_bytes" else row[key] for row in rows]
                      for key in rows[0]}
        try:
            out = signature(**{key: tf.constant(value) for key, value in inputs.items()})["colorized_bytes"].numpy()
            reply, status = {"predictions": [{"b64": base64.b64encode(p).decode()} for p in out]}, 200
        except tf.errors.InvalidArgumentError as e:
            reply, status = {"error": e.message}, 400
        data = json.dumps(reply).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # noqa: N802  (TF Serving's model metadata: the signatures by name)
        assert self.path == "/v1/models/colorizer/metadata"
        reply = {"model_spec": {"name": "colorizer", "version": "1"},
                 "metadata": {"signature_def": {"signature_def": {name: {} for name in self.signatures}}}}
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def test_rest_client_command_saves_each_answer_and_skips_a_bad_photo(exported, tmp_path):
    _, loaded = exported
    FakeServing.loaded = loaded
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeServing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        inputs = tmp_path / "in"
        inputs.mkdir()
        Image.fromarray(photo("coffee")[:60, :80]).save(inputs / "a.jpg")
        Image.fromarray(photo("chelsea")[:30, :20]).save(inputs / "b.png")
        (inputs / "c.jpg").write_bytes(b"not an image")
        result = run_module("tfcolor.client", f"--server=127.0.0.1:{server.server_address[1]}",
                            "--model=colorizer", f"--input={inputs}", f"--output_dir={tmp_path / 'out'}")
    finally:
        server.shutdown()
    assert "2 of 3 photos" in result.stdout
    assert "c.jpg" in result.stderr
    assert Image.open(tmp_path / "out" / "a.png").size == (80, 60)
    assert Image.open(tmp_path / "out" / "b.png").size == (20, 30)


def test_signatures_from_rest_and_grpc_metadata():
    """The served model's signature names from TF Serving's REST metadata body and from a gRPC
    GetModelMetadataResponse (a SignatureDefMap packed in an Any); an error body is one error."""
    from tensorflow_serving.apis import get_model_metadata_pb2

    assert serving_api.rest_metadata_url("localhost:8501", "colorizer", 3) == \
        "http://localhost:8501/v1/models/colorizer/versions/3/metadata"
    body = json.dumps({"metadata": {"signature_def": {"signature_def": {"serving_default": {}, "colorize": {}}}}})
    assert serving_api.parse_rest_signatures(body) == ["colorize", "serving_default"]
    with pytest.raises(serving_api.ServingError, match="not found"):
        serving_api.parse_rest_signatures(json.dumps({"error": "Servable not found"}))
    with pytest.raises(serving_api.ServingError, match="not a TF Serving metadata answer"):
        serving_api.parse_rest_signatures(b"<html>501 Unsupported method</html>")
    request = serving_api.grpc_metadata_request("colorizer", 2)
    assert (request.model_spec.name, request.model_spec.version.value, list(request.metadata_field)) == \
        ("colorizer", 2, ["signature_def"])
    signatures = get_model_metadata_pb2.SignatureDefMap()
    for name in ("colorize_hints", "serving_default"):
        signatures.signature_def[name].method_name = "tensorflow/serving/predict"
    response = get_model_metadata_pb2.GetModelMetadataResponse()
    response.metadata["signature_def"].Pack(signatures)
    assert serving_api.parse_grpc_signatures(response) == ["colorize_hints", "serving_default"]


def test_rest_client_propagates_hints_itself_for_a_model_without_a_hints_signature(exported, tmp_path):
    """A served SavedModel without a hints signature (exported by an earlier tfcolor): the client
    asks for its signatures, sends the photos for plain colours and corrects the hinted one here
    as colorize does (Levin's propagation: the same pixels as tfcolor.deploy.hinting in-process);
    the photo without a hint file comes back as the server coloured it."""

    from tfcolor.deploy import hinting
    from tfcolor.deploy.colorizer import read_photo

    _, loaded = exported
    FakeServing.loaded = loaded
    FakeServing.signatures = sorted(set(loaded.signatures) - {serving_api.PROPAGATE_SIGNATURE})
    assert serving_api.HINTS_SIGNATURE not in FakeServing.signatures
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeServing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        (tmp_path / "in").mkdir()
        (tmp_path / "hints").mkdir()
        Image.fromarray(photo("coffee")[::5, ::5]).convert("L").save(tmp_path / "in" / "a.jpg")
        Image.fromarray(photo("chelsea")[:30, :20]).save(tmp_path / "in" / "b.png")
        (tmp_path / "hints" / "a.json").write_text(json.dumps({"points": [
            {"x": 20, "y": 15, "color": "#c03020", "radius": 2}, {"x": 100, "y": 60, "color": "#2040d0"}]}))
        Image.fromarray(photo("rocket")[:40, :50]).save(tmp_path / "in" / "c.jpg")  # its reference is broken
        (tmp_path / "broken.jpg").write_bytes(b"not a photo")
        (tmp_path / "hints" / "c.json").write_text(json.dumps({"points": [], "reference": str(tmp_path / "broken.jpg")}))
        result = run_module("tfcolor.client", f"--server=127.0.0.1:{server.server_address[1]}",
                            "--model=colorizer", f"--input={tmp_path / 'in'}", f"--output_dir={tmp_path / 'out'}",
                            f"--hints={tmp_path / 'hints'}")
    finally:
        server.shutdown()
    assert "has no hints signature: they are propagated here" in result.stdout and "2 of 3 photos" in result.stdout
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "c.jpg" in errors[0] and "broken.jpg" in errors[0], errors
    assert not (tmp_path / "out" / "c.png").exists()
    rgb, _ = read_photo(str(tmp_path / "in" / "a.jpg"))
    expected = hinting.propagate(rgb, hinting.load_for_photo(str(tmp_path / "hints" / "a.json"), *rgb.shape[:2]))
    got = np.asarray(Image.open(tmp_path / "out" / "a.png").convert("RGB"))
    np.testing.assert_array_equal(got, expected)
    assert got[15, 20, 0] > got[15, 20, 2] + 40 and got[60, 100, 2] > got[60, 100, 0] + 40  # the hints' hues
    plain = loaded.signatures["serving_default"](images_bytes=tf.constant([(tmp_path / "in" / "b.png").read_bytes()]))
    assert (tmp_path / "out" / "b.png").read_bytes() == plain["colorized_bytes"].numpy()[0]


def _psnr(a, b):

    return 10 * np.log10(255.0 ** 2 / max(np.mean((a.astype(float) - b.astype(float)) ** 2), 1e-10))


def test_rest_client_sends_points_to_the_propagating_signature_and_applies_a_reference_here(exported, tmp_path):
    """A model without hint inputs exported now has propagate_hints (Levin's propagation in its
    graph): the client sends the points there and gets colorize --hints' colours (float32 against
    numpy's float64); a photo whose hints name a reference photo is sent without rows (the
    automatic colours) and finished here, as colorize does."""

    from tfcolor.deploy import hinting
    from tfcolor.deploy.colorizer import read_photo

    _, loaded = exported
    assert serving_api.PROPAGATE_SIGNATURE in loaded.signatures and serving_api.HINTS_SIGNATURE not in loaded.signatures
    FakeServing.loaded = loaded
    FakeServing.signatures, FakeServing.seen = sorted(loaded.signatures), []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeServing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        for name in ("in", "hints"):
            (tmp_path / name).mkdir()
        Image.fromarray(photo("coffee")[::5, ::5]).convert("L").save(tmp_path / "in" / "a.png")
        Image.fromarray(photo("rocket")[:60, :90]).convert("L").save(tmp_path / "in" / "d.png")
        Image.fromarray(photo("chelsea")[:30, :20]).save(tmp_path / "in" / "e.png")  # no hint file
        Image.fromarray(photo("astronaut")[::8, ::8]).save(tmp_path / "ref.png")
        (tmp_path / "hints" / "a.json").write_text(json.dumps({"points": [
            {"x": 20, "y": 15, "color": "#c03020", "radius": 2}, {"x": 100, "y": 60, "color": "#2040d0"}]}))
        (tmp_path / "hints" / "d.json").write_text(json.dumps({"points": [{"x": 10, "y": 50, "color": "#20c040"}],
                                                               "reference": str(tmp_path / "ref.png")}))
        result = run_module("tfcolor.client", f"--server=127.0.0.1:{server.server_address[1]}",
                            "--model=colorizer", f"--input={tmp_path / 'in'}", f"--output_dir={tmp_path / 'out'}",
                            f"--hints={tmp_path / 'hints'}")
    finally:
        server.shutdown()
    assert "3 of 3 photos" in result.stdout and "propagated here" not in result.stdout
    assert FakeServing.seen == [serving_api.PROPAGATE_SIGNATURE]  # one batch, every photo in it
    out = {n: np.asarray(Image.open(tmp_path / "out" / f"{n}.png").convert("RGB")) for n in "ade"}
    rgb, _ = read_photo(str(tmp_path / "in" / "a.png"))
    expected = hinting.propagate(rgb, hinting.load_for_photo(str(tmp_path / "hints" / "a.json"), *rgb.shape[:2]))
    assert _psnr(out["a"], expected) > 40
    assert out["a"][15, 20, 0] > out["a"][15, 20, 2] + 40 and out["a"][60, 100, 2] > out["a"][60, 100, 0] + 40
    rgb, _ = read_photo(str(tmp_path / "in" / "d.png"))
    answer = loaded.signatures["serving_default"](images_bytes=tf.constant([png_bytes(rgb)]))
    automatic = tf.io.decode_png(answer["colorized_bytes"][0])
    hints = hinting.load_for_photo(str(tmp_path / "hints" / "d.json"), *rgb.shape[:2])
    expected = hinting.hinted(lambda _: automatic.numpy(), hints, rgb)
    assert np.abs(out["d"].astype(int) - expected).max() <= 1
    plain = loaded.signatures["serving_default"](images_bytes=tf.constant([(tmp_path / "in" / "e.png").read_bytes()]))
    assert np.abs(out["e"].astype(int) - tf.io.decode_png(plain["colorized_bytes"][0]).numpy()).max() <= 1


def test_points_of_a_downscaled_photo_stay_where_they_were_given():
    """--oversize=downscale: the points are given in the sent photo's pixels and land on the same
    spot of the smaller photo the graph colours (Levin's propagation in the graph)."""

    from tfcolor.core import hints as H
    from tfcolor.deploy import inference

    keras.utils.set_random_seed(0)
    generator = models.build_generator("unet_small", image_size=32, base_filters=8)
    big = np.ascontiguousarray(photo("coffee")[:120, :160])
    rows = H.points_array([H.Point(120.0, 90.0, (0.0, 0.0), 4, color="#2050d0"),
                           H.Point(20.0, 20.0, (0.0, 0.0), 4, color="#d05020")])
    encoded = tf.function(
        lambda data, points: inference.colorize_encoded(generator, data, 32, 4800, "downscale", points))
    out = encoded(tf.constant(png_bytes(big)), tf.constant(rows))  # (a graph: the solve's loops run eagerly slowly)
    small = tf.io.decode_png(out).numpy()
    assert small.shape == (60, 80, 3)
    # colorize --hints of the photo at that size, with the points where they are on it.
    from tfcolor.deploy import hinting

    halved = H.Hints(tuple(H.Point(p.x / 2, p.y / 2, tuple(H.lab_of_rgb(H.parse_color(p.color))[1:]), 2, color=p.color)
                           for p in (H.Point(120.0, 90.0, (0, 0), color="#2050d0"),
                                     H.Point(20.0, 20.0, (0, 0), color="#d05020"))))
    expected = hinting.propagate(np.asarray(Image.fromarray(big).resize((80, 60), Image.BOX)), halved)
    assert _psnr(small, expected) > 27  # (the photo shrunk by TF there, by Pillow here)
    for x, y in ((60, 45), (10, 10)):
        got, want = (H.lab_of_rgb(a[y - 1:y + 2, x - 1:x + 2])[..., 1:].reshape(-1, 2).mean(0)
                     for a in (small, expected))
        assert np.hypot(*(got - want)) < 3, (x, y)


@pytest.mark.slow
def test_export_command_writes_saved_model_warmup_config_and_tflite(tmp_path):
    keras.utils.set_random_seed(0)
    generator = models.build_generator("unet_small", image_size=32, base_filters=8)
    generator.save(tmp_path / "g.keras")
    write_lab_shard(str(tmp_path / "data"), "val", photo_crops(4, size=40))
    root = tmp_path / "saved_models"
    result = run_module("tfcolor.export", f"--generator={tmp_path / 'g.keras'}", "--name=tiny",
                        f"--output_root={root}", "--tflite=fp32,int8", f"--calibration_data={tmp_path / 'data'}")
    assert "UserWarning" not in result.stderr, result.stderr[-2000:]  # (the calibrator's tf.lite.Interpreter)
    assert (root / "tiny" / "1" / "saved_model.pb").exists()
    assert (root / "tiny" / "1" / "assets.extra" / "tf_serving_warmup_requests").exists()
    assert 'base_path: "/models/tiny"' in (root / "models.config").read_text()
    for variant in ("fp32", "int8"):
        assert (root / "tiny" / "tflite" / "1" / f"{variant}.tflite").stat().st_size > 10_000


@pytest.mark.slow
def test_grpc_client_command_against_an_in_process_prediction_service(exported, tmp_path):
    """The client's gRPC path (channel, stub, request, response) end to end, against a
    PredictionService that answers with the SavedModel as TF Serving would."""
    from concurrent import futures

    import grpc
    from tensorflow_serving.apis import prediction_service_pb2_grpc

    _, loaded = exported
    seen = []

    class Service(prediction_service_pb2_grpc.PredictionServiceServicer):
        def Predict(self, request, context):  # noqa: N802
            seen.append((request.model_spec.name, request.model_spec.signature_name))
            signature = loaded.signatures[request.model_spec.signature_name]
            try:
                outputs = signature(**{key: tf.constant(tf.make_ndarray(value))
                                       for key, value in request.inputs.items()})
            except tf.errors.InvalidArgumentError as e:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, e.message)
            response = predict_pb2.PredictResponse()
            for key, value in outputs.items():
                response.outputs[key].CopyFrom(tf.make_tensor_proto(value))
            return response

        def GetModelMetadata(self, request, context):  # noqa: N802
            from tensorflow_serving.apis import get_model_metadata_pb2

            seen.append((request.model_spec.name, "metadata"))
            signatures = get_model_metadata_pb2.SignatureDefMap()
            for name in loaded.signatures:
                signatures.signature_def[name].method_name = "tensorflow/serving/predict"
            response = get_model_metadata_pb2.GetModelMetadataResponse()
            response.metadata["signature_def"].Pack(signatures)
            return response

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(Service(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        Image.fromarray(photo("rocket")[:45, :65]).save(tmp_path / "r.jpg")
        (tmp_path / "bad.png").write_bytes(b"")
        result = run_module("tfcolor.client", "--protocol=grpc", f"--server=127.0.0.1:{port}", "--model=colorizer",
                            f"--input={tmp_path / 'r.jpg'},{tmp_path / 'bad.png'}",
                            f"--output_dir={tmp_path / 'out'}")
        (tmp_path / "r.json").write_text(json.dumps({"points": [{"x": 30, "y": 20, "color": "#20a040"}]}))
        hinted = run_module("tfcolor.client", "--protocol=grpc", f"--server=127.0.0.1:{port}", "--model=colorizer",
                            f"--input={tmp_path / 'r.jpg'}", f"--output_dir={tmp_path / 'hinted'}",
                            f"--hints={tmp_path / 'r.json'}")
    finally:
        server.stop(None)
    assert "1 of 2 photos" in result.stdout and "INVALID_ARGUMENT" in result.stderr
    assert Image.open(tmp_path / "out" / "r.png").size == (65, 45)
    assert seen[0] == ("colorizer", "serving_default")
    # With hints, the model's signatures first (metadata), then the point to its propagating
    # signature: colorize --hints' colours, from the server.
    from tfcolor.deploy import hinting
    from tfcolor.deploy.colorizer import read_photo

    assert seen[-2:] == [("colorizer", "metadata"), ("colorizer", serving_api.PROPAGATE_SIGNATURE)]
    rgb, _ = read_photo(str(tmp_path / "r.jpg"))
    expected = hinting.propagate(rgb, hinting.load_for_photo(str(tmp_path / "r.json"), *rgb.shape[:2]))
    assert _psnr(np.asarray(Image.open(tmp_path / "hinted" / "r.png").convert("RGB")), expected) > 40


def test_int8_export_without_its_calibration_data_is_one_line_before_writing(tmp_path):
    """A model whose config names training data that is not on this machine (the shipped model's,
    in a fresh clone): --tflite=int8 stops in one line before the SavedModel is written."""
    keras.utils.set_random_seed(0)
    run = tmp_path / "run"
    run.mkdir()
    models.build_generator("unet_small", image_size=32, base_filters=8).save(run / "generator.keras")
    (run / "config.json").write_text(json.dumps({"data": {"train": "runs/elsewhere/data64", "image_size": 32}}))
    root = tmp_path / "saved_models"
    result = run_module("tfcolor.export", f"--model_dir={run}", f"--output_root={root}", "--tflite=fp32,int8",
                        check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "error: --tflite=int8 calibrates on the model's training data (its config.json), runs/elsewhere/data64, "
        "which is not here: give --calibration_data=DIR (a prepared dataset, a TFRecord glob or a folder of photos)")
    assert not root.exists()
