"""TF Serving requests and responses for the exported colouriser: REST JSON, gRPC
PredictRequest, and the warmup records stored with each SavedModel.

The ``serving_default`` signature takes ``images_bytes`` (string [B], encoded photos) and
returns ``colorized_bytes`` (string [B], PNG). The ``_bytes`` suffix matters: TF Serving's
REST API base64-encodes string outputs only when their name ends in ``_bytes``, so the
PNG bytes come back as ``{"b64": ...}`` instead of broken UTF-8.

Every SavedModel also takes colour hints: the same ``images_bytes`` and ``hint_points``
(float32 [B, N, 6], one row per point: x, y, radius in the photo's pixels, r, g, b in 0..255;
rows with x < 0 pad photos with fewer points: tfcolor.core.hints.points_array), under the name
of its engine: ``colorize_hints`` for a hint generator (trained with ``--hints``), whose network
reads them; ``propagate_hints`` for any other model (the shipped one), whose graph propagates
them around its colours (Levin et al. 2004, as ``colorize --hints``; then the model's learned
refinement of them, when it has one: tfcolor.models.hint_refiner, also alone under
``refiner``). The names differ because a reference photo is applied differently around each
(tfcolor.deploy.hinting.hinted), by the client.
"""

import base64
import json
import os

INPUT_KEY = "images_bytes"
OUTPUT_KEY = "colorized_bytes"
DEFAULT_SIGNATURE = "serving_default"
HINTS_SIGNATURE = "colorize_hints"
PROPAGATE_SIGNATURE = "propagate_hints"
REFINER_SIGNATURE = "refiner"  # the hint refiner alone, in SavedModels and .tflite files
HINTS_KEY = "hint_points"
WARMUP_FILE = os.path.join("assets.extra", "tf_serving_warmup_requests")


class ServingError(RuntimeError):
    """The server answered with an error (its message is kept)."""


def _rest_model_url(server, model, version=None):
    base = server if server.startswith(("http://", "https://")) else f"http://{server}"
    return base.rstrip("/") + f"/v1/models/{model}" + (f"/versions/{version}" if version else "")


def rest_url(server, model, version=None):
    """The REST predict URL, e.g. http://localhost:8501/v1/models/colorizer:predict."""
    return _rest_model_url(server, model, version) + ":predict"


def rest_metadata_url(server, model, version=None):
    """The REST metadata URL (GET), e.g. http://localhost:8501/v1/models/colorizer/metadata."""
    return _rest_model_url(server, model, version) + "/metadata"


def parse_rest_signatures(body):
    """A REST metadata response body -> the served model's signature names (sorted);
    ServingError on an error body."""
    try:
        response = json.loads(body)
    except ValueError:
        raise ServingError(f"not a TF Serving metadata answer: {body[:200]!r}") from None
    if "error" in response:
        raise ServingError(response["error"])
    try:
        return sorted(response["metadata"]["signature_def"]["signature_def"])
    except (KeyError, TypeError):
        raise ServingError(f"metadata without signature_def: {body[:200]!r}") from None


def grpc_metadata_request(model, version=None):
    """A GetModelMetadataRequest for the served model's signatures."""
    from tensorflow_serving.apis import get_model_metadata_pb2

    request = get_model_metadata_pb2.GetModelMetadataRequest()
    request.model_spec.name = model
    if version:
        request.model_spec.version.value = int(version)
    request.metadata_field.append("signature_def")
    return request


def parse_grpc_signatures(response):
    """A GetModelMetadataResponse -> the served model's signature names (sorted)."""
    from tensorflow_serving.apis import get_model_metadata_pb2

    if "signature_def" not in response.metadata:
        raise ServingError("metadata without signature_def")
    signatures = get_model_metadata_pb2.SignatureDefMap()
    response.metadata["signature_def"].Unpack(signatures)
    return sorted(signatures.signature_def)


def _signature(signature, hint_points):
    return signature or (HINTS_SIGNATURE if hint_points is not None else DEFAULT_SIGNATURE)


def rest_request(images, signature=None, hint_points=None):
    """JSON body (str) for TF Serving's REST predict: row format, one base64 object per image;
    with ``hint_points`` (per image a [N, 6] array, :func:`pad_points`) a hints signature
    (default ``colorize_hints``; ``serving_default`` without points)."""
    instances = [{"b64": base64.b64encode(data).decode("ascii")} for data in images]
    if hint_points is not None:
        padded = pad_points(hint_points)
        instances = [{INPUT_KEY: image, HINTS_KEY: points.tolist()} for image, points in zip(instances, padded)]
    return json.dumps({"signature_name": _signature(signature, hint_points), "instances": instances})


def pad_points(hint_points):
    """Per-image [N_i, 6] hint rows -> one float32 array [B, max N_i (at least 1), 6], padded
    with rows whose x is -1."""
    import numpy as np

    most = max([1] + [len(p) for p in hint_points])
    padded = np.full((len(hint_points), most, 6), -1.0, np.float32)
    for i, points in enumerate(hint_points):
        if len(points):
            padded[i, :len(points)] = points
    return padded


def parse_rest_response(body):
    """A REST predict response body -> the list of PNG bytes; ServingError on an error body."""
    response = json.loads(body)
    if "error" in response:
        raise ServingError(response["error"])
    if "predictions" in response:
        outputs = response["predictions"]
    elif "outputs" in response:  # columnar answer
        outputs = response["outputs"]
        outputs = outputs[OUTPUT_KEY] if isinstance(outputs, dict) else outputs
    else:
        raise ServingError(f"response has neither 'predictions' nor 'outputs': {body[:200]!r}")
    result = []
    for item in outputs:
        if isinstance(item, dict) and OUTPUT_KEY in item:  # several outputs: one object per row
            item = item[OUTPUT_KEY]
        if not (isinstance(item, dict) and "b64" in item):
            raise ServingError(f"expected {{'b64': ...}} per image, got {str(item)[:100]}")
        result.append(base64.b64decode(item["b64"]))
    return result


def grpc_request(images, model, version=None, signature=None, hint_points=None):
    """A tensorflow_serving PredictRequest for the encoded ``images`` (with ``hint_points``:
    a hints signature, as :func:`rest_request`)."""
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2

    request = predict_pb2.PredictRequest()
    request.model_spec.name = model
    request.model_spec.signature_name = _signature(signature, hint_points)
    if version:
        request.model_spec.version.value = int(version)
    request.inputs[INPUT_KEY].CopyFrom(tf.make_tensor_proto(list(images), dtype=tf.string,
                                                            shape=[len(images)]))
    if hint_points is not None:
        request.inputs[HINTS_KEY].CopyFrom(tf.make_tensor_proto(pad_points(hint_points)))
    return request


def parse_grpc_response(response):
    """A PredictResponse -> the list of PNG bytes."""
    if OUTPUT_KEY not in response.outputs:
        raise ServingError(f"response has no {OUTPUT_KEY!r} output; it has {sorted(response.outputs)}")
    return list(response.outputs[OUTPUT_KEY].string_val)


def warmup_sizes(model_size):
    """(height, width) of the warmup images: the model's size and a 4:3 photo size."""
    return (model_size, model_size), (3 * model_size // 2, 2 * model_size)


def warmup_images(model_size):
    """Two small encoded images (:func:`warmup_sizes`) that exercise every op."""
    import numpy as np
    import tensorflow as tf

    images = []
    for height, width in warmup_sizes(model_size):
        y, x = np.mgrid[0:height, 0:width]
        gray = ((x * 255 // max(width - 1, 1) + y * 128 // max(height - 1, 1)) % 256).astype(np.uint8)
        images.append(tf.io.encode_png(np.repeat(gray[..., None], 3, axis=-1)).numpy())
    return images


def write_warmup(saved_model_dir, model_name, model_size, hints_signature=None):
    """Writes assets.extra/tf_serving_warmup_requests: PredictionLog records that TF Serving
    replays when it loads the model, so the first user request does not pay for warm-up; with
    ``hints_signature``, one more request there (the second image, a hint point at its centre)."""
    import numpy as np
    import tensorflow as tf
    from tensorflow_serving.apis import prediction_log_pb2

    images = warmup_images(model_size)
    requests = [grpc_request([image], model_name) for image in images]
    if hints_signature:
        height, width = warmup_sizes(model_size)[1]
        point = np.array([[width / 2, height / 2, 2, 200, 60, 40]], np.float32)
        requests.append(grpc_request(images[1:], model_name, signature=hints_signature, hint_points=[point]))
    path = os.path.join(saved_model_dir, WARMUP_FILE)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with tf.io.TFRecordWriter(path) as writer:
        for request in requests:
            log = prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request))
            writer.write(log.SerializeToString())
    return path


def read_warmup(saved_model_dir):
    """The PredictRequests stored in a SavedModel's warmup file."""
    import tensorflow as tf
    from tensorflow_serving.apis import prediction_log_pb2

    requests = []
    for record in tf.data.TFRecordDataset(os.path.join(saved_model_dir, WARMUP_FILE)):
        log = prediction_log_pb2.PredictionLog.FromString(record.numpy())
        requests.append(log.predict_log.request)
    return requests


def models_config(models):
    """TF Serving's model config file (text protobuf) for ``{name: base_path}``."""
    entries = "".join(
        f"  config {{\n    name: \"{name}\"\n    base_path: \"{path}\"\n    model_platform: \"tensorflow\"\n"
        f"    model_version_policy {{ latest {{ num_versions: 1 }} }}\n  }}\n"
        for name, path in models.items())
    return f"model_config_list {{\n{entries}}}\n"
