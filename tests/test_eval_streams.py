"""The evaluation photo stream: order, limits, gray files skipped, the fixed-size crop, and the
bounded read-ahead."""

import threading
import time

import numpy as np
import pytest
from PIL import Image

from tests.conftest import photo, photo_crops, write_lab_shard
from tfcolor.deploy import inference
from tfcolor.eval import streams


def test_square_crop_resizes_the_shorter_side_and_keeps_the_centre():
    image = np.zeros((60, 100, 3), np.uint8)
    image[:, 20:80] = [200, 30, 10]  # the centre 60 columns are red, the sides black
    out = streams.square_crop(image, 30).numpy()
    assert out.shape == (30, 30, 3)
    np.testing.assert_array_equal(out[:, 1:-1], np.broadcast_to([200, 30, 10], (30, 28, 3)))
    assert streams.square_crop(photo("chelsea"), 256).shape == (256, 256, 3)


def test_records_stream_in_order_with_the_gray_input(tmp_path):
    crops = photo_crops(5, size=24)
    write_lab_shard(str(tmp_path), "val", crops)
    photos = list(streams.stream_photos(str(tmp_path)))
    assert [p.key for p in photos] == [f"val/{i}" for i in range(5)]
    np.testing.assert_array_equal(photos[2].gray, inference.gray_rgb(photos[2].truth).numpy())
    assert np.abs(photos[2].truth.astype(int) - crops[2]).max() <= 3  # 8-bit Lab round trip
    assert [p.key for p in streams.stream_photos(str(tmp_path), max_images=2)] == ["val/0", "val/1"]
    assert streams.count_photos(str(tmp_path)) == 5 and streams.count_photos(str(tmp_path), 3) == 3
    sized = list(streams.stream_photos(str(tmp_path), eval_size=16))
    assert {p.truth.shape for p in sized} == {(16, 16, 3)}


def test_folder_stream_skips_gray_and_unreadable_files(tmp_path):
    for i, crop in enumerate(photo_crops(3, size=32)):
        Image.fromarray(crop).save(tmp_path / f"{i}.png")
    Image.fromarray(photo("coffee")[:32, :32]).convert("L").save(tmp_path / "gray.png")
    (tmp_path / "broken.jpg").write_bytes(b"not an image")
    skipped = {}
    keys = [p.key for p in streams.stream_photos(str(tmp_path), skipped=skipped)]
    assert keys == ["0.png", "1.png", "2.png"]
    assert skipped["grayscale"] == 1 and sum(skipped.values()) == 2


def test_ordered_map_keeps_order_and_reads_at_most_a_window_ahead():
    started, lock = [], threading.Lock()

    def work(i):
        with lock:
            started.append(i)
        time.sleep(0.002 * (i % 3))
        return i * i

    stream = streams.ordered_map(work, range(50), workers=4, window=5)
    first = next(stream)
    time.sleep(0.05)
    assert first == 0 and len(started) <= 6  # the one consumed + a window of 5
    assert [first, *stream] == [i * i for i in range(50)]
    with pytest.raises(ZeroDivisionError):
        list(streams.ordered_map(lambda i: 1 // i, [1, 0], workers=2, window=2))
