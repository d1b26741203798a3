"""User hints in the browser page, for a hint generator's site: the page's hint channels against
the Python rasterizer, colorizeFile(file, hints) against `colorize --hints`, the editor (click,
recolour, save) and bad hints."""

import base64
import io
import json
import os

import numpy as np
import pytest
from PIL import Image

from tests.conftest import photo, run_module
from tests.test_web import _psnr, browser  # noqa: F401 (the browser fixture)
from tfcolor.core import hints as H
from tfcolor.deploy import web

POINTS = {"points": [{"x": 60, "y": 40, "color": "#2e6fd0", "radius": 6}, {"x": 250.5, "y": 130.2, "color": "#c07030"},
                     {"x": 120, "y": 180, "color": "#3c3", "radius": 2.5}]}


@pytest.fixture(scope="module")
def hint_site(tmp_path_factory, hint_generator):
    root = tmp_path_factory.mktemp("hint_site")
    run = root / "run"
    run.mkdir()
    hint_generator.save(run / "generator.keras")
    web.write_site(hint_generator, 32, str(root / "site"), "hints", log=lambda message: None)
    return {"run": str(run), "site": str(root / "site")}


@pytest.fixture(scope="module")
def hint_page(browser, hint_site):  # noqa: F811
    with web.serve(hint_site["site"]) as url:
        page = browser.new_page(accept_downloads=True)
        errors = []
        page.on("pageerror", lambda error: errors.append(error))
        page.goto(url)
        page.wait_for_function("window.tfcolor !== undefined", timeout=90000)
        page.evaluate("window.tfcolor.ready.then(() => true)")
        yield page
        assert not errors, errors
        page.close()


def _colorize(page, path, hints):
    data = base64.b64encode(open(path, "rb").read()).decode()
    result = page.evaluate(
        """async ([name, data, hints]) => {
             const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
             try {
               const png = await window.tfcolor.colorizeFile(new File([bytes], name), hints);
               let text = "";
               for (let i = 0; i < png.length; i += 0x8000) text += String.fromCharCode(...png.subarray(i, i + 0x8000));
               return btoa(text);
             } catch (e) { return "error: " + e.message; }
           }""", [os.path.basename(path), data, hints])
    return result if result.startswith("error: ") else base64.b64decode(result)


@pytest.mark.slow
def test_page_hint_channels_match_python(hint_page):
    got = np.array(hint_page.evaluate("([h, H, W]) => window.tfcolor.hintChannels(h, H, W)", [POINTS, 200, 300]))
    rows = H.points_array(H.hints_from_json(POINTS).points)
    want = H.points_to_channels(rows, 200, 300, 32).numpy()
    np.testing.assert_array_equal(got.reshape(32, 32, 3)[..., 2], want[..., 2])
    np.testing.assert_allclose(got.reshape(32, 32, 3), want, atol=1e-5)


@pytest.mark.slow
def test_page_with_hints_matches_python_colorize_hints(hint_page, hint_site, tmp_path):
    path = tmp_path / "cat.png"
    Image.fromarray(photo("chelsea")[:200, :300]).save(path)
    (tmp_path / "cat.json").write_text(json.dumps(POINTS))
    run_module("tfcolor.colorize", f"--model={hint_site['run']}", str(path), f"--hints={tmp_path / 'cat.json'}",
               f"--output_dir={tmp_path / 'out'}")
    want = np.asarray(Image.open(tmp_path / "out" / "cat.png").convert("RGB"))
    got = np.asarray(Image.open(io.BytesIO(_colorize(hint_page, path, POINTS))).convert("RGB"))
    assert _psnr(got, want) >= 40
    auto = np.asarray(Image.open(io.BytesIO(_colorize(hint_page, path, None))).convert("RGB"))
    assert _psnr(auto, got) < 40  # the hints changed the colours
    bad = _colorize(hint_page, path, {"points": [{"x": 400, "y": 10, "color": "#fff"}]})
    assert bad == "error: cat.png: point 1 at (400, 10) is outside the 300x200 photo"
    bad = _colorize(hint_page, path, {"points": [{"x": 4, "y": 10, "color": "blue"}]})
    assert bad.startswith('error: cat.png: point 1: "blue" is not a colour')


@pytest.mark.slow
def test_page_editor_places_a_hint_recolours_and_saves(hint_page, tmp_path):
    path = tmp_path / "rocket.png"
    Image.fromarray(photo("rocket")[:200, :300]).save(path)
    hint_page.set_input_files("#files", [str(path)])
    card = hint_page.locator(".card", has_text="rocket.png").first
    card.locator(".meta").wait_for(timeout=60000)
    before = card.locator(".compare img").first.get_attribute("src")
    card.locator(".hints input[type=checkbox]").check()
    box = card.locator(".compare img").first.bounding_box()
    hint_page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.25)
    card.locator(".hints li").wait_for(timeout=10000)
    hint_page.wait_for_function(
        "(src) => document.querySelector('.card .compare img').src !== src", arg=before, timeout=30000)
    assert card.locator(".hints li").count() == 1
    assert "ms at 300×200" in card.locator(".hints .timing").text_content()
    with hint_page.expect_download() as download:
        card.locator(".hints button", has_text="Save hints").click()
    saved = json.loads(open(download.value.path()).read())
    (point,) = saved["points"]
    assert abs(point["x"] - 150) < 3 and abs(point["y"] - 50) < 3
    H.parse_color(point["color"])  # a colour of the format
