"""Hint generators (--hints) in training and behind colorize --hints, and the Levin engine of
automatic models."""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import hinted_batches, photo, photo_crops, run_module, save
from tfcolor import gans, models
from tfcolor.core import color, hints as H
from tfcolor.models.hint_inputs import HINT_INPUT_CHANNELS, HintPool


def test_hint_pool_hand_computed():
    hints = np.zeros((1, 4, 4, 3), np.float32)
    hints[0, 0, 0] = [0.2, -0.4, 1]
    hints[0, 1, 1] = [0.4, 0.0, 1]
    pooled = HintPool(2)(hints).numpy()[0]
    np.testing.assert_allclose(pooled[0, 0], [0.3, -0.2, 0.5], atol=1e-6)  # mean colour, share hinted
    np.testing.assert_allclose(pooled[1, 1], [0, 0, 0])


@pytest.mark.parametrize("name, kwargs", [("unet", {"base_filters": 8, "max_filters": 32}),
                                          ("encoder_unet", {"encoder": "mobilenet_v2", "base_filters": 8,
                                                            "max_filters": 32})])
def test_hint_generators_take_four_channels_and_save(name, kwargs, tmp_path):
    g = models.build_generator(name, image_size=32, in_channels=HINT_INPUT_CHANNELS, **kwargs)
    x = np.random.default_rng(0).uniform(-1, 1, (2, 32, 32, 4)).astype(np.float32)
    y = g(x, training=False).numpy()
    g.save(tmp_path / "g.keras")
    np.testing.assert_allclose(models.load_generator_file(str(tmp_path / "g.keras"))(x, training=False), y,
                               atol=1e-5)
    changed = x.copy()
    changed[..., 1:] = 0
    assert np.abs(g(changed, training=False).numpy() - y).max() > 1e-4  # the hints reach the output


@pytest.mark.slow
@pytest.mark.parametrize("objective, norm", [("pix2pix", "batch"), ("wgan", "batch"), ("wgan_gp", "none")])
def test_every_objective_trains_a_hint_generator(objective, norm):
    x, ab = hinted_batches(np.stack(photo_crops(8, size=16)))
    keras.utils.set_random_seed(0)
    g = models.build_generator("unet_small", image_size=16, num_downs=3, base_filters=8,
                               in_channels=HINT_INPUT_CHANNELS)
    d = models.build_discriminator("patchgan", image_size=16, n_layers=1, base_filters=8, norm=norm)
    gan = gans.build_gan(objective, g, d, **({} if objective == "pix2pix" else {"n_critic": 2}))
    gan.compile()
    history = gan.fit(tf.data.Dataset.from_tensors((x, ab)).repeat(), steps_per_epoch=2, epochs=1, verbose=0)
    assert all(np.isfinite(v[-1]) for v in history.history.values())
    assert d.input_shape[0][-1] == 1  # the critic sees L alone
    assert int(gan.g_optimizer.iterations) == 2


@pytest.mark.slow
def test_a_trained_hint_network_puts_the_hint_colours_where_given(hint_generator):
    """Hints of a colour unlike the photo's (each point a 5x5 patch) pull the output there."""
    crops = np.stack([tf.image.resize(c, [32, 32]).numpy().round().astype(np.uint8)
                      for c in photo_crops(16, size=64, names=("coffee", "chelsea"))])
    l, _ = color.split_lab(color.rgb_to_lab(crops))
    target = np.array([-0.4, 0.3], np.float32)  # a saturated green
    channels = np.zeros((16, 32, 32, 3), np.float32)
    channels[:, 8:13, 8:13] = [*target, 1.0]
    with_hints = hint_generator(tf.concat([l, channels], -1), training=False).numpy()
    without = hint_generator(tf.concat([l, np.zeros_like(channels)], -1), training=False).numpy()
    err_with = np.abs(with_hints[:, 8:13, 8:13] - target).mean()
    err_without = np.abs(without[:, 8:13, 8:13] - target).mean()
    # (under 0.6 of the error without them on the AVX-512 hosts, 0.66 on an AVX2 host: the short
    # training's numbers differ between them; an untrained network gives about 1)
    assert err_with < 0.75 * err_without, (err_with, err_without)


def _run_folder(generator, folder):
    os.makedirs(folder, exist_ok=True)
    generator.save(os.path.join(folder, "generator.keras"))
    return folder


@pytest.fixture(scope="module")
def hint_model_files(hint_generator, tmp_path_factory):
    """The hint generator's run folder, SavedModel (its colorize_hints) and fp32 .tflite file."""
    from tfcolor.deploy import lite, serving

    root = tmp_path_factory.mktemp("hint_models")
    run = _run_folder(hint_generator, str(root / "run"))
    serving.export_saved_model(hint_generator, 32, str(root / "served" / "1"))
    (root / "fp32.tflite").write_bytes(lite.convert(hint_generator, 32, "fp32"))
    return {"run": run, "saved_model": str(root / "served"), "tflite": str(root / "fp32.tflite")}


def _ab_at(path, x, y, half=4):
    from PIL import Image

    rgb = np.asarray(Image.open(path).convert("RGB"))
    patch = rgb[max(y - half, 0):y + half + 1, max(x - half, 0):x + half + 1]
    return H.lab_of_rgb(patch)[..., 1:].reshape(-1, 2).mean(0)


@pytest.mark.slow
def test_colorize_hints_cli_levin_engine_bad_files_and_exif(trained_generator, tmp_path):
    """An automatic model's colours corrected by Levin's propagation around each point; a bad hint
    file skips its photo with one line; an EXIF-rotated photo takes points as displayed."""
    from PIL import Image

    run = _run_folder(trained_generator, str(tmp_path / "run"))
    photos, hint_dir = tmp_path / "photos", tmp_path / "hints"
    cat = photo("chelsea")[:200, :300]
    save(str(photos / "cat.jpg"), cat, quality=95)
    save(str(photos / "coffee.jpg"), photo("coffee")[:200, :300], quality=95)
    save(str(photos / "plain.jpg"), photo("rocket")[:200, :300], quality=95)
    # Stored 300 wide and 200 high, displayed rotated (EXIF orientation 6): 200 wide, 300 high.
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(cat).save(photos / "rotated.jpg", exif=exif, quality=95)
    os.makedirs(hint_dir)
    points = [{"x": 60, "y": 50, "color": "#2060e0", "radius": 3}, {"x": 240, "y": 150, "color": "#a06040", "radius": 4}]
    (hint_dir / "cat.json").write_text(json.dumps({"points": points}))
    (hint_dir / "coffee.json").write_text('{"points": [{"x": 10, "y": 20, "color": "#zz0000"}]}')
    (hint_dir / "rotated.json").write_text(json.dumps({"points": [{"x": 150, "y": 250, "color": "#2060e0",
                                                                   "radius": 3}]}))
    out = tmp_path / "out"
    result = run_module("tfcolor.colorize", f"--model={run}", f"--input={photos}", f"--hints={hint_dir}",
                        f"--output_dir={out}")
    assert "3 colourised, 1 skipped" in result.stdout
    assert f"skipped {photos / 'coffee.jpg'}: {hint_dir / 'coffee.json'}: point 1: '#zz0000' is not a colour" \
        in result.stderr
    assert sorted(os.listdir(out)) == ["cat.png", "plain.png", "rotated.png"]  # nothing half-written
    for (x, y), colour in (((60, 50), "#2060e0"), ((240, 150), "#a06040")):
        want = H.lab_of_rgb(H.parse_color(colour))[1:]
        assert np.hypot(*(_ab_at(out / "cat.png", x, y) - want)) < 10
    assert np.hypot(*(_ab_at(out / "rotated.png", 150, 250) - H.lab_of_rgb((0x20, 0x60, 0xE0))[1:])) < 10
    # The photo keeps its own L; the unhinted photo is the automatic colouring.
    got = H.lab_of_rgb(np.asarray(Image.open(out / "cat.png")))[..., 0]
    assert np.median(np.abs(got - H.lab_of_rgb(np.asarray(Image.open(photos / "cat.jpg")))[..., 0])) < 0.5
    plain = run_module("tfcolor.colorize", f"--model={run}", str(photos / "plain.jpg"), f"--output_dir={tmp_path / 'o2'}")
    assert plain.returncode == 0
    np.testing.assert_array_equal(np.asarray(Image.open(out / "plain.png")),
                                  np.asarray(Image.open(tmp_path / "o2" / "plain.png")))
    outside = tmp_path / "outside.json"
    outside.write_text(json.dumps({"points": [{"x": 400, "y": 10, "color": "#ffffff"}]}))
    one = run_module("tfcolor.colorize", f"--model={run}", str(photos / "plain.jpg"), f"--hints={outside}",
                     f"--output_dir={tmp_path / 'o3'}", check=False)
    assert one.returncode == 1 and "point 1 at (400, 10) is outside the 300x200 photo" in one.stderr
    assert "Traceback" not in one.stderr and not os.path.exists(tmp_path / "o3" / "plain.png")


@pytest.mark.slow
def test_colorize_hints_with_a_hint_generator(hint_generator, tmp_path):
    """A hint generator's run: --hints feeds its network (no propagation), the result follows."""
    from tfcolor.deploy.colorizer import load_colorizer

    run = _run_folder(hint_generator, str(tmp_path / "run"))
    colorize, description = load_colorizer(run)
    assert colorize.takes_hints and description.startswith("hint generator")
    rgb = np.ascontiguousarray(photo("coffee")[:256, :256])
    hints = H.Hints((H.Point(64, 64, (-44.0, 33.0), radius=40),))  # green over a 5x5 cell of the 32 px network
    hinted, auto = colorize.hinted(rgb, hints), colorize(rgb)
    want = np.array([-44.0, 33.0])
    assert np.hypot(*(_ab_at_array(hinted, 64, 64) - want)) < 0.6 * np.hypot(*(_ab_at_array(auto, 64, 64) - want))
    # The photo's own L (saturated hints that leave the sRGB gamut are clipped: L moves there alone).
    assert np.median(np.abs(H.lab_of_rgb(hinted)[..., 0] - H.lab_of_rgb(rgb)[..., 0])) < 0.5


def _ab_at_array(rgb, x, y, half=4):
    return H.lab_of_rgb(rgb[y - half:y + half + 1, x - half:x + half + 1])[..., 1:].reshape(-1, 2).mean(0)


@pytest.mark.slow
def test_serving_and_tflite_hint_signatures_agree_with_keras(hint_model_files, tmp_path):
    """The SavedModel's colorize_hints and the TFLite file's colorize_hints (points and a
    scribble, as rows) give the Keras path's colours; without hints, the automatic ones."""
    from tfcolor.deploy import hinting, lite, serving_api
    from tfcolor.deploy.colorizer import load_colorizer

    run = hint_model_files["run"]
    rgb = np.ascontiguousarray(photo("chelsea")[:151, :203])
    scribble = np.zeros((151, 203, 4), np.uint8)
    scribble[100:104, 20:60] = [40, 160, 60, 255]
    points = [H.Point(150.0, 40.0, (0, 0), 6, color="#3060c0"), H.Point(30.5, 20.2, (0, 0), color="#c06030")]
    hints = H.Hints(tuple(H.Point(p.x, p.y, tuple(H.lab_of_rgb(H.parse_color(p.color))[1:]), p.radius, color=p.color)
                          for p in points), scribble)
    results = {}
    for kind in ("run", "saved_model", "tflite"):
        path = hint_model_files[kind]
        colorize, _ = load_colorizer(path)
        assert colorize.takes_hints, kind
        results[kind] = (colorize.hinted(rgb, hints).astype(int), colorize(rgb).astype(int))
    for kind in ("saved_model", "tflite"):
        assert np.abs(results[kind][0] - results["run"][0]).max() <= 1, kind
        assert np.abs(results[kind][1] - results["run"][1]).max() <= 1, kind
    assert np.abs(results["run"][0] - results["run"][1]).max() > 20  # the hints changed the colours
    # A reference photo's pixels given to the file: the network's hinted colours moved to its own.
    save(str(tmp_path / "ref.png"), photo("coffee")[::4, ::4])
    referenced = H.Hints(hints.points, hints.scribble, str(tmp_path / "ref.png"))
    got = lite.colorize_with(lite.interpreter(hint_model_files["tflite"]), rgb, hinting.hint_rows(referenced),
                             hinting.reference_pixels(referenced.reference))
    want = load_colorizer(run)[0].hinted(rgb, referenced)
    assert 10 * np.log10(255.0 ** 2 / np.mean((got.astype(float) - want) ** 2)) > 40
    assert np.abs(want.astype(int) - results["run"][0]).max() > 20
    # The REST body of the hints signature carries the padded rows.
    body = json.loads(serving_api.rest_request([b"x", b"y"], hint_points=[H.points_array(hints.points), []]))
    assert body["signature_name"] == "colorize_hints"
    assert np.array(body["instances"][1]["hint_points"]).tolist() == [[-1.0] * 6] * 2


def test_film_hints_follow_a_known_translation_and_stop_at_a_cut():
    """Frames of a real photo moving 3 px right and 2 px down per frame: a point placed on frame 0
    moves with it; one placed on frame 2 starts there; a cut ends both."""
    from tfcolor.deploy.hint_tracks import HintTracker

    picture = photo("astronaut")
    frames = [np.ascontiguousarray(picture[200 - 2 * k:320 - 2 * k, 150 - 3 * k:310 - 3 * k]) for k in range(6)]
    frames.append(np.ascontiguousarray(photo("coffee")[:120, :160]))  # a new shot
    hints = H.Hints((H.Point(60.0, 50.0, (10.0, 0.0)), H.Point(90.0, 40.0, (0.0, 10.0), frame=2)))
    tracker = HintTracker(hints)
    seen = [tracker(f) for f in frames]
    for k in range(6):
        first = seen[k][0]
        assert abs(first.x - (60 + 3 * k)) < 0.5 and abs(first.y - (50 + 2 * k)) < 0.5, (k, first)
        assert len(seen[k]) == (1 if k < 2 else 2)
    assert abs(seen[5][1].x - (90 + 9)) < 0.5 and abs(seen[5][1].y - (40 + 6)) < 0.5
    assert seen[6] == ()


@pytest.mark.slow
def test_colorize_clip_with_hints_carries_the_point(trained_generator, tmp_path):
    from tests.test_video import make_clip, read_clip

    run = _run_folder(trained_generator, str(tmp_path / "run"))
    make_clip(tmp_path / "pan.mkv", audio=False)  # the picture moves 3 px left per frame
    (tmp_path / "pan.json").write_text(json.dumps({"points": [{"x": 40, "y": 24, "color": "#3070c0",
                                                               "radius": 3, "frame": 0}]}))
    result = run_module("tfcolor.colorize", f"--model={run}", str(tmp_path / "pan.mkv"), f"--hints={tmp_path / 'pan.json'}",
                        f"--output={tmp_path / 'out.mkv'}", "--video_codec=ffv1", "--temporal=none")
    assert "1 hint point(s)" in result.stdout
    frames, _, _, _ = read_clip(tmp_path / "out.mkv")
    want = H.lab_of_rgb((0x30, 0x70, 0xC0))[1:]
    for k in (0, 5, 10):
        assert np.hypot(*(_ab_at_array(frames[k], 40 - 3 * k, 24, half=2) - want)) < 10, k


@pytest.mark.slow
def test_evaluate_with_hints_and_the_sweep(trained_generator, tmp_path):
    """evaluate --hints=N colours each photo with N protocol points (the same for every run), and
    --hint_sweep writes the curve of the model and Levin alone beside the floor."""
    run = _run_folder(trained_generator, str(tmp_path / "run"))
    photos = tmp_path / "photos"
    for name in ("coffee", "chelsea", "rocket"):
        save(str(photos / f"{name}.png"), photo(name)[:120, :160])
    common = [f"--model={run}", f"--data={photos}", "--inception_weights="]
    run_module("tfcolor.evaluate", *common, f"--output_dir={tmp_path / 'auto'}")
    run_module("tfcolor.evaluate", *common, f"--output_dir={tmp_path / 'h10'}", "--hints=10", "--hint_sweep",
               "--hint_sweep_images=2")
    auto = json.loads((tmp_path / "auto" / "metrics.json").read_text())["summary"]
    hinted = json.loads((tmp_path / "h10" / "metrics.json").read_text())["summary"]
    assert hinted["model"]["psnr"] > auto["model"]["psnr"] + 1.0  # the true colours at 10 points help
    assert hinted["gray"]["psnr"] == pytest.approx(auto["gray"]["psnr"])
    sweep = json.loads((tmp_path / "h10" / "hint_sweep.json").read_text(), parse_constant=pytest.fail)["rows"]
    levin10 = [r for r in sweep if r["engine"] == "Levin 2004 alone" and r["points"] == 10]
    assert len(levin10) == 2 and all(r["hint_error"] < 10 for r in levin10)
    assert "10 hint points drawn from the true colours" in (tmp_path / "h10" / "report.md").read_text()
    assert (tmp_path / "h10" / "hint_sweep.png").stat().st_size > 1000


@pytest.mark.slow
def test_client_sends_hints_to_the_hints_signature(hint_model_files, tmp_path):
    """tfcolor.client --hints against TF Serving's REST contract (a stand-in server answering
    with the SavedModel): a photo with hints gets the hint colours, one without is automatic,
    one with a reference photo too gets the reference's colours (moved here), and all match
    colorize through the SavedModel."""
    import base64
    import http.server
    import threading

    from PIL import Image

    from tfcolor.deploy.colorizer import load_colorizer

    loaded = tf.saved_model.load(os.path.join(hint_model_files["saved_model"], "1"))

    class Server(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            rows = body["instances"]
            if body["signature_name"] == "colorize_hints":
                images = [base64.b64decode(r["images_bytes"]["b64"]) for r in rows]
                out = loaded.signatures["colorize_hints"](images_bytes=tf.constant(images), hint_points=tf.constant(
                    [r["hint_points"] for r in rows], tf.float32))
            else:
                out = loaded.signatures["serving_default"](images_bytes=tf.constant(
                    [base64.b64decode(r["b64"]) for r in rows]))
            data = json.dumps({"predictions": [{"b64": base64.b64encode(p).decode()}
                                               for p in out["colorized_bytes"].numpy()]}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):  # noqa: N802  (the model's metadata: the client asks for its signatures)
            signatures = {name: {} for name in loaded.signatures}
            data = json.dumps({"metadata": {"signature_def": {"signature_def": signatures}}}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Server)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    inputs, hint_dir = tmp_path / "in", tmp_path / "hints"
    save(str(inputs / "cat.png"), photo("chelsea")[:150, :200])
    save(str(inputs / "cup.png"), photo("coffee")[:150, :200])
    hint_dir.mkdir()
    points = {"points": [{"x": 50, "y": 40, "color": "#20a040", "radius": 20}]}
    (hint_dir / "cat.json").write_text(json.dumps(points))
    save(str(inputs / "rocket.png"), photo("rocket")[:120, :160])
    save(str(tmp_path / "ref.png"), photo("astronaut")[::6, ::6])
    referenced = {"points": [{"x": 30, "y": 30, "color": "#c03030", "radius": 4}], "reference": str(tmp_path / "ref.png")}
    (hint_dir / "rocket.json").write_text(json.dumps(referenced))
    try:
        result = run_module("tfcolor.client", f"--server=127.0.0.1:{server.server_address[1]}", "--model=colorizer",
                            f"--input={inputs}", f"--hints={hint_dir}", f"--output_dir={tmp_path / 'out'}")
    finally:
        server.shutdown()
    assert "3 of 3 photos" in result.stdout
    colorize, _ = load_colorizer(hint_model_files["saved_model"])
    cat = np.asarray(Image.open(inputs / "cat.png").convert("RGB"))
    want = colorize.hinted(cat, H.hints_from_json(points))
    got = np.asarray(Image.open(tmp_path / "out" / "cat.png").convert("RGB"))
    assert np.abs(got.astype(int) - want).max() <= 1
    assert np.abs(got.astype(int) - colorize(cat)).max() > 10
    cup = np.asarray(Image.open(inputs / "cup.png").convert("RGB"))
    assert np.abs(np.asarray(Image.open(tmp_path / "out" / "cup.png").convert("RGB")).astype(int)
                  - colorize(cup)).max() <= 1
    rocket = np.asarray(Image.open(inputs / "rocket.png").convert("RGB"))
    want = colorize.hinted(rocket, H.hints_from_json(referenced))
    got = np.asarray(Image.open(tmp_path / "out" / "rocket.png").convert("RGB"))
    assert np.abs(got.astype(int) - want).max() <= 1
    without = colorize.hinted(rocket, H.hints_from_json({"points": referenced["points"]}))
    assert np.abs(got.astype(int) - without).max() > 10  # the reference moved the colours


@pytest.mark.slow
def test_a_reference_photo_gives_its_colours_and_points_still_hold(trained_generator, tmp_path):
    """{"reference": ...}: the colours move to the reference's mean and spread of a*b* (the photo
    keeps its L); a point given with it still gets its colour."""
    from PIL import Image

    from tfcolor.deploy.colorizer import load_colorizer

    run = _run_folder(trained_generator, str(tmp_path / "run"))
    rgb = np.ascontiguousarray(photo("chelsea")[:160, :240])
    lab = H.lab_of_rgb(photo("coffee")[:200, :200])
    lab[..., 1] = lab[..., 1] * 0.3 - 20.0  # a cold, green-blue version of a real photo
    lab[..., 2] = lab[..., 2] * 0.3 - 30.0
    reference = np.round(color.lab_to_rgb(lab.astype(np.float32)).numpy() * 255).astype(np.uint8)
    Image.fromarray(reference).save(tmp_path / "ref.png")
    colorize, _ = load_colorizer(run)
    (tmp_path / "h.json").write_text(json.dumps({"reference": "ref.png"}))
    from tfcolor.deploy import hinting

    hints = hinting.load_for_photo(str(tmp_path / "h.json"), 160, 240)
    out = colorize.hinted(rgb, hints)
    want = hinting.reference_ab(str(tmp_path / "ref.png")).mean(0)
    got = H.lab_of_rgb(out)[..., 1:].reshape(-1, 2).mean(0)
    assert np.abs(got - want).max() < 3.0, (got, want)
    assert np.abs(H.lab_of_rgb(colorize(rgb))[..., 1:].reshape(-1, 2).mean(0) - want).max() > 10
    assert np.median(np.abs(H.lab_of_rgb(out)[..., 0] - H.lab_of_rgb(rgb)[..., 0])) < 0.5
    both = {"reference": "ref.png", "points": [{"x": 60, "y": 50, "color": "#c07030", "radius": 4}]}
    (tmp_path / "both.json").write_text(json.dumps(both))
    out = colorize.hinted(rgb, hinting.load_for_photo(str(tmp_path / "both.json"), 160, 240))
    assert np.hypot(*(_ab_at_array(out, 60, 50) - H.lab_of_rgb((0xC0, 0x70, 0x30))[1:])) < 10
    (tmp_path / "bad.json").write_text(json.dumps({"reference": "h.json"}))
    with pytest.raises(H.HintError, match="reference photo .*h.json"):
        hinting.load_for_photo(str(tmp_path / "bad.json"), 160, 240)
