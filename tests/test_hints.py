"""tfcolor.core.hints (format, dense maps, simulated hints) and tfcolor.core.levin against
hand-computed cases."""

import json

import numpy as np
import pytest
import tensorflow as tf
from skimage import color as skcolor

from tfcolor.core import hints as H
from tfcolor.core import levin


# ----- the format ---------------------------------------------------------------------------
def test_parse_color_forms_and_errors():
    assert H.parse_color("#4a7fb5") == (0x4A, 0x7F, 0xB5)
    assert H.parse_color("#f80") == (255, 136, 0)
    assert H.parse_color("4A7FB5") == (0x4A, 0x7F, 0xB5)
    for bad in ("#12345", "blue", "#gg0000", 12):
        with pytest.raises(H.HintError, match="colour"):
            H.parse_color(bad, "p.json: point 1")


def test_json_point_takes_the_colours_ab_from_skimage(tmp_path):
    path = tmp_path / "photo.json"
    path.write_text(json.dumps({"points": [{"x": 3, "y": 4.5, "color": "#4a7fb5", "radius": 2, "frame": 7}]}))
    hints = H.load_hints(str(path))
    (p,) = hints.points
    expected = skcolor.rgb2lab(np.array([[[0x4A, 0x7F, 0xB5]]], np.float64) / 255)[0, 0, 1:]
    np.testing.assert_allclose(p.ab, expected, atol=1e-2)
    assert (p.x, p.y, p.radius, p.frame, p.color) == (3.0, 4.5, 2.0, 7, "#4a7fb5")
    assert hints.to_json() == {"points": [{"x": 3.0, "y": 4.5, "color": "#4a7fb5", "radius": 2.0, "frame": 7}]}


@pytest.mark.parametrize("content, message", [
    ("{not json", "not valid JSON"),
    ('[1, 2]', "expected a JSON object"),
    ('{"points": [{"x": 1, "y": 2}]}', "point 1: missing color"),
    ('{"points": [{"x": "a", "y": 2, "color": "#fff"}]}', 'point 1: "x" must be a number'),
    ('{"points": [{"x": 1, "y": 2, "color": "red"}]}', "point 1: 'red' is not a colour"),
    ('{"points": [{"x": 1, "y": 2, "color": "#fff", "radius": -1}]}', "radius"),
    ('{"pints": []}', "unknown key"),
    ('{"reference": "nowhere.jpg"}', "reference photo .*nowhere.jpg not found"),
])
def test_bad_json_names_the_file_and_the_problem(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(H.HintError, match=message) as info:
        H.load_hints(str(path))
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_points_outside_and_scribble_of_another_size_are_refused():
    with pytest.raises(H.HintError, match=r"point 2 at \(11, 3\) is outside the 10x8 photo"):
        H.check_fits(H.Hints((H.Point(1, 1, (0, 0)), H.Point(11, 3, (0, 0)))), 8, 10, "h.json")
    with pytest.raises(H.HintError, match="the scribble is 5x4, the photo 10x8"):
        H.check_fits(H.Hints(scribble=np.zeros((4, 5, 4), np.uint8)), 8, 10, "s.png")


def test_hint_map_of_points_hand_computed():
    p = H.Point(2.5, 1.5, (22.0, -11.0))  # pixel (row 1, column 2)
    ab, mask = H.hint_map(H.Hints((p,)), 4, 5)
    assert mask[..., 0].sum() == 1 and mask[1, 2, 0] == 1
    np.testing.assert_allclose(ab[1, 2], [0.2, -0.1], atol=1e-6)  # / 110
    assert np.all(ab[mask[..., 0] == 0] == 0)
    q = H.Point(2.5, 1.5, (11.0, 0.0), radius=1)  # rows 0-2, columns 1-3, averaged where both are
    ab, mask = H.hint_map(H.Hints((p, q)), 4, 5)
    assert mask[..., 0].sum() == 9
    np.testing.assert_allclose(ab[1, 2], [(0.2 + 0.1) / 2, -0.05], atol=1e-6)
    np.testing.assert_allclose(ab[0, 1], [0.1, 0.0], atol=1e-6)
    # At half the photo's size a point moves with the scale: (2.5, 1.5) -> pixel (0, 1).
    ab, mask = H.hint_map(H.Hints((p,)), 2, 3, photo_size=(4, 6))
    assert mask[0, 1, 0] == 1 and mask.sum() == 1


def test_scribble_pixels_are_hints_of_their_colour(tmp_path):
    from PIL import Image

    rgba = np.zeros((6, 8, 4), np.uint8)
    rgba[2, 3] = [200, 30, 30, 255]
    rgba[4, 6] = [30, 30, 200, 128]
    Image.fromarray(rgba).save(tmp_path / "s.png")
    hints = H.load_hints(str(tmp_path / "s.png"))
    ab, mask = H.hint_map(hints, 6, 8)
    assert mask.sum() == 2 and mask[2, 3, 0] == 1 and mask[4, 6, 0] == 1
    red = skcolor.rgb2lab(np.array([[[200, 30, 30]]]) / 255)[0, 0, 1:] / 110
    np.testing.assert_allclose(ab[2, 3], red, atol=1e-4)
    Image.fromarray(rgba[..., :3]).save(tmp_path / "opaque.png")
    with pytest.raises(H.HintError, match="needs transparency"):
        H.load_hints(str(tmp_path / "opaque.png"))


# ----- simulated hints ------------------------------------------------------------------------
def test_patch_hints_hand_computed():
    a = np.arange(16, dtype=np.float32).reshape(4, 4)
    ab = np.stack([a, np.zeros_like(a)], -1)
    hint, mask = H.patch_hints(tf.constant(ab), tf.constant([1, 2, 0]), tf.constant([1, 2, 0]),
                               tf.constant([2, 2, 4]), tf.constant([True, True, False]))
    hint, mask = hint.numpy(), mask.numpy()[..., 0]
    assert mask.sum() == 7
    assert hint[1, 1, 0] == pytest.approx((5 + 6 + 9 + 10) / 4)
    assert hint[3, 3, 0] == pytest.approx((10 + 11 + 14 + 15) / 4)
    assert hint[2, 2, 0] == pytest.approx((7.5 + 12.5) / 2)  # the overlap averages
    assert hint[0, 0, 0] == 0 and mask[0, 0] == 0  # the inactive patch reveals nothing


def test_sample_hints_is_reproducible_and_follows_the_distribution():
    rng = np.random.default_rng(0)
    ab = tf.constant(rng.uniform(-0.5, 0.5, (64, 64, 2)).astype(np.float32))
    first = H.sample_hints(ab, tf.constant([3, 4]))
    again = H.sample_hints(ab, tf.constant([3, 4]))
    np.testing.assert_array_equal(first[0].numpy(), again[0].numpy())
    empty, covered, rows = 0, [], []
    for i in range(400):
        hint, mask = H.sample_hints(ab, tf.constant([i, 1]))
        mask = mask.numpy()[..., 0]
        empty += mask.sum() == 0
        covered.append(mask.mean())
        ys, _ = np.nonzero(mask)
        rows.extend(ys)
        # Wherever a single patch reveals colour, it is a mean of the true colours: within their range.
        assert np.abs(hint.numpy()).max() <= 0.5 + 1e-6
    assert 0.18 < empty / 400 < 0.32  # NO_HINT_SHARE = 0.25
    assert abs(np.mean(rows) / 63 - 0.5) < 0.05  # centred on the photo
    assert 0.2 < np.std(np.array(rows) / 63) < 0.3  # N(1/2, 1/4), clipped to the photo


def test_sample_hints_reveals_patch_means_of_a_constant_photo():
    ab = tf.constant(np.full((32, 32, 2), [0.3, -0.2], np.float32))
    for i in range(20):
        hint, mask = H.sample_hints(ab, tf.constant([i, 9]))
        m = mask.numpy()[..., 0] > 0
        np.testing.assert_allclose(hint.numpy()[m], np.tile([0.3, -0.2], (m.sum(), 1)), atol=1e-6)


def test_protocol_points_reveal_the_9x9_mean():
    ab = np.zeros((50, 60, 2))
    ab[..., 0] = np.arange(60)[None, :]
    points = H.protocol_points(ab, 10, np.random.default_rng(0))
    assert len(points) == 10
    for p in points:
        x = int(p.x)
        cols = np.arange(max(x - 4, 0), min(x + 5, 60))
        assert p.ab[0] == pytest.approx(cols.mean()) and p.radius == 4
        assert 0 <= p.x <= 60 and 0 <= p.y <= 50


# ----- Levin et al. 2004 ----------------------------------------------------------------------
def test_levin_flat_gray_interpolates_linearly():
    gray = np.full((1, 4), 0.5)
    hint = np.zeros((1, 4, 1))
    hint[0, 0], hint[0, 3] = 0.0, 30.0
    mask = np.array([[1, 0, 0, 1]])
    np.testing.assert_allclose(levin.propagate(gray, hint, mask)[0, :, 0], [0, 10, 20, 30], atol=1e-4)


def test_levin_edge_stops_the_colour_hand_solved():
    gray = np.array([[0.0, 0.0, 1.0, 1.0]])
    hint = np.zeros((1, 4, 1))
    hint[0, 0], hint[0, 3] = 10.0, 30.0
    got = levin.propagate(gray, hint, np.array([[1, 0, 0, 1]]))[0, :, 0]
    # Pixel 1: window {0, 0, 1}, variance 2/9, sigma^2 = 0.6 * 2/9; weights exp(0), exp(-1 / sigma^2).
    e = np.exp(-1.0 / (0.6 * 2 / 9))
    a, c = 1 / (1 + e), e / (1 + e)
    u1 = (a * 10 + c * a * 30) / (1 - c * c)
    u2 = a * 30 + c * u1
    np.testing.assert_allclose(got, [10, u1, u2, 30], rtol=1e-5)
    assert abs(got[1] - 10) < 0.02 and abs(got[2] - 30) < 0.02  # the edge holds each colour


def test_levin_prior_pulls_far_pixels_hand_solved():
    gray = np.full((1, 3), 0.5)
    hint = np.zeros((1, 3, 1))
    hint[0, 0] = 10.0
    got = levin.propagate(gray, hint, np.array([[1, 0, 0]]), prior=np.zeros((1, 3, 1)), prior_weight=1.0)
    # u1 (1 + mu) - (10 + u2) / 2 = 0 and u2 (1 + mu) - u1 = 0 with mu = 1.
    u1 = 5 / (2 - 0.25)
    np.testing.assert_allclose(got[0, :, 0], [10, u1, u1 / 2], rtol=1e-5)
    assert np.all(levin.propagate(gray, hint * 0, np.zeros((1, 3))) == 0)


@pytest.mark.parametrize("shape", [(23, 17), (9, 31)])  # blocks along either side
def test_levin_block_solve_equals_a_sparse_solve_of_the_system(shape):
    """propagate's elimination by pixel rows against scipy's sparse LU of affinity_system (plus
    the prior's diagonal), on a real photo's gray with hinted patches and a prior."""
    from scipy import sparse
    from scipy.sparse.linalg import spsolve

    from tests.conftest import photo

    gray = photo("chelsea")[100:100 + shape[0], 150:150 + shape[1]].mean(-1) / 255.0
    rng = np.random.default_rng(0)
    mask = np.zeros(shape, bool)
    mask[2:4, 3:5] = mask[-3, -2] = mask[shape[0] // 2, 1] = True
    hint = rng.uniform(-1, 1, shape + (2,))
    prior = rng.uniform(-1, 1, shape + (2,))
    for weight in (0.0, 0.3):
        system = levin.affinity_system(gray, mask)
        rhs = np.where(mask[..., None], hint, 0.0).reshape(-1, 2)
        if weight:
            free = (~mask).ravel() * weight
            system = system + sparse.diags(free)
            rhs = rhs + free[:, None] * prior.reshape(-1, 2)
        want = spsolve(system.tocsc(), rhs).reshape(shape + (2,))
        got = levin.propagate(gray, hint, mask, prior=prior, prior_weight=weight)
        np.testing.assert_allclose(got, want, atol=1e-5)
        np.testing.assert_allclose(got[mask], hint[mask], atol=1e-6)


def test_exported_rasterizer_matches_hint_map():
    points = (H.Point(2.5, 1.5, (0, 0), color="#4a7fb5"), H.Point(250.0, 90.2, (0, 0), 7.5, color="#c08020"),
              H.Point(0.0, 199.9, (0, 0), 3, color="#10ff10"), H.Point(120.3, 44.4, (0, 0), 60, color="#ff00ff"))
    hints = H.Hints(tuple(H.Point(p.x, p.y, tuple(H.lab_of_rgb(H.parse_color(p.color))[1:]), p.radius,
                                  color=p.color) for p in points))
    want = np.concatenate(H.hint_map(hints, 96, 96, photo_size=(200, 300)), -1)
    rows = np.concatenate([H.points_array(hints.points), [[-1, 0, 0, 0, 0, 0]]])  # and one padding row
    got = H.points_to_channels(rows, 200, 300, 96).numpy()
    np.testing.assert_array_equal(got[..., 2], want[..., 2])
    np.testing.assert_allclose(got, want, atol=1e-5)
    # At a size of the photo's shape (Levin's working size in an exported model's graph).
    want = np.concatenate(H.hint_map(hints, 107, 160, photo_size=(200, 300)), -1)
    got = H.points_to_map(rows, 200, 300, 107, 160).numpy()
    np.testing.assert_array_equal(got[..., 2], want[..., 2])
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_affinity_weights_of_several_features():
    """One feature channel gives the gray's weights; a second channel with a step (a model's
    a*b* edge on flat gray) cuts the links across it and keeps those along it."""
    from tests.conftest import photo

    gray = photo("coffee")[50:70, 80:110].mean(-1) / 255.0
    np.testing.assert_array_equal(levin.affinity_weights(gray[..., None]), levin.affinity_weights(gray))
    flat = np.full((6, 8), 0.5)
    step = np.zeros((6, 8))
    step[:, 4:] = 1.0
    weights = levin.affinity_weights(np.dstack([flat, step]))
    right, left = levin.OFFSETS.index((0, 1)), levin.OFFSETS.index((0, -1))
    assert weights[right, 2, 3] < 1e-3 and weights[left, 2, 4] < 1e-3  # across the step
    assert weights[right, 2, 1] > 0.1 and weights[left, 2, 6] > 0.1  # beside it


# ----- Levin et al. 2004 in TF ops (tfcolor.core.levin_graph: exported models' graphs) -------
def test_levin_graph_edge_stops_the_colour_hand_solved():
    from tfcolor.core import levin_graph

    gray = np.array([[0.0, 0.0, 1.0, 1.0]])
    hint = np.zeros((1, 4, 1))
    hint[0, 0], hint[0, 3] = 10.0, 30.0
    got = levin_graph.propagate(gray, hint, np.array([[1, 0, 0, 1]])[..., None]).numpy()[0, :, 0]
    e = np.exp(-1.0 / (0.6 * 2 / 9))  # as test_levin_edge_stops_the_colour_hand_solved
    a, c = 1 / (1 + e), e / (1 + e)
    u1 = (a * 10 + c * a * 30) / (1 - c * c)
    np.testing.assert_allclose(got, [10, u1, a * 30 + c * u1, 30], rtol=1e-5)


@pytest.mark.parametrize("shape", [(23, 17), (9, 31), (1, 1), (1, 6), (5, 1)])
def test_levin_graph_equals_the_numpy_solve(shape):
    """The graph's weights and its Gauss-Jordan block solve (float32) against core.levin's
    (float64, itself checked against scipy above), on a real photo's gray, tall and wide."""
    from tests.conftest import photo
    from tfcolor.core import levin_graph

    gray = photo("chelsea")[100:100 + shape[0], 150:150 + shape[1]].mean(-1) / 255.0
    rng = np.random.default_rng(0)
    mask = np.zeros(shape, bool)
    mask[0, 0] = mask[-1, -1] = mask[shape[0] // 2, shape[1] // 3] = True
    hint = rng.uniform(-1, 1, shape + (2,))
    np.testing.assert_allclose(levin_graph.affinity_weights(gray).numpy(), levin.affinity_weights(gray),
                               atol=1e-6)
    got = levin_graph.propagate(gray, hint, mask[..., None]).numpy()
    np.testing.assert_allclose(got, levin.propagate(gray, hint, mask), atol=2e-5)
    # Pulled towards a prior on the free pixels (a reference photo's colours), as core.levin.
    prior = rng.uniform(-1, 1, shape + (2,))
    for weight in (1e-4, 0.1):
        np.testing.assert_allclose(levin_graph.propagate(gray, hint, mask[..., None], prior, weight).numpy(),
                                   levin.propagate(gray, hint, mask, prior, weight), atol=2e-5)
    # One hint: its colour everywhere, exactly (the solve is of the difference from the hints' mean).
    one = np.zeros(shape, bool)
    one[shape[0] // 2, shape[1] // 2] = True
    np.testing.assert_allclose(levin_graph.propagate(gray, hint, one[..., None]).numpy(),
                               np.broadcast_to(hint[one], shape + (2,)), atol=1e-6)
