"""Every kind of bad or unusual input is converted correctly or skipped with its reason."""

import io
import os
import struct
import zlib

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from data_prep.convert import Converter, PrepConfig
from data_prep.decode import Item, SkipImage, is_grayscale, load_rgb
from tests.conftest import photo, save
from tfcolor.core import color, schema

CONFIG = PrepConfig(image_size=64, min_size=16)


def convert(path, config=CONFIG):
    return Converter(config)(Item(key=os.path.basename(path), path=str(path)))


def decoded_rgb(result):
    """uint8 RGB of a converted record."""
    lab = schema.parse_example(result.record)["lab"]
    return (color.lab_to_rgb(lab).numpy() * 255).round()


def jpeg_bytes(array, **kwargs):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "JPEG", quality=95, **kwargs)
    return buffer.getvalue()


def png_header_only(width, height):
    """A PNG whose header claims width x height, with almost no pixel data."""

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 100)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.fixture
def coffee():
    return photo("coffee")[100:300, 200:400]  # 200x200, colourful


def test_good_jpeg_is_kept_unchanged(tmp_path, coffee):
    path = save(str(tmp_path / "good.jpg"), coffee, quality=98)
    result = convert(path)
    assert result.reason is None and result.fixes == ()
    expected = np.asarray(Image.fromarray(coffee).resize((64, 64), Image.BICUBIC, reducing_gap=3.0))
    assert np.abs(decoded_rgb(result) - expected).mean() < 3.0


def test_truncated_jpeg_is_skipped(tmp_path, coffee):
    data = jpeg_bytes(coffee)
    path = tmp_path / "truncated.jpg"
    path.write_bytes(data[: len(data) // 2])
    assert convert(path).reason == "truncated_or_corrupt"


def test_empty_file_is_skipped(tmp_path):
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    assert convert(path).reason == "empty_file"


def test_non_image_with_image_extension_is_skipped(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("these are not pixels\n" * 20)
    assert convert(path).reason == "not_an_image"


def test_cmyk_jpeg_is_converted(tmp_path, coffee):
    path = save(str(tmp_path / "cmyk.jpg"), Image.fromarray(coffee).convert("CMYK"), quality=98)
    assert Image.open(path).mode == "CMYK"
    result = convert(path)
    assert result.reason is None and "cmyk_converted" in result.fixes
    expected = np.asarray(Image.fromarray(coffee).resize((64, 64), Image.BICUBIC, reducing_gap=3.0))
    assert np.abs(decoded_rgb(result) - expected).mean() < 4.0


def test_png_with_alpha_is_composited_over_white(tmp_path, coffee):
    rgba = np.dstack([coffee, np.full(coffee.shape[:2], 255, np.uint8)])
    rgba[:, 100:, 3] = 0  # right half fully transparent
    path = save(str(tmp_path / "alpha.png"), rgba)
    rgb, fixes = load_rgb(Item("a", path=path))
    assert fixes == ["alpha_composited"]
    np.testing.assert_array_equal(rgb[:, :100], coffee[:, :100])
    assert np.all(rgb[:, 100:] == 255)


def test_16bit_rgb_png_keeps_the_top_byte(tmp_path, coffee):
    wide = coffee.astype(np.uint16) * 257 + 100  # 16-bit values whose top byte is the photo
    path = tmp_path / "deep.png"
    path.write_bytes(tf.io.encode_png(wide).numpy())
    rgb, fixes = load_rgb(Item("d", path=str(path)))
    assert "16bit_reduced" in fixes
    np.testing.assert_array_equal(rgb, (wide >> 8).astype(np.uint8))


def test_16bit_gray_png_is_reduced_then_counted_as_grayscale(tmp_path, coffee):
    gray = (coffee.mean(-1) * 257).astype(np.uint16)[..., None]
    path = tmp_path / "gray16.png"
    path.write_bytes(tf.io.encode_png(gray).numpy())
    result = convert(path)
    assert result.reason == "grayscale" and "16bit_reduced" in result.fixes
    kept = convert(path, PrepConfig(image_size=64, min_size=16, drop_grayscale=False))
    assert kept.record is not None
    lab = schema.parse_example(kept.record)["lab"].numpy()
    assert np.abs(lab[..., 1:]).max() <= 1.0 and lab[..., 0].mean() > 20  # gray, not black


def test_palette_png_is_converted(tmp_path, coffee):
    palette = Image.fromarray(coffee).convert("P", palette=Image.Palette.ADAPTIVE, colors=256)
    path = save(str(tmp_path / "palette.png"), palette)
    result = convert(path)
    assert result.reason is None and "palette_converted" in result.fixes
    expected = np.asarray(palette.convert("RGB").resize((64, 64), Image.BICUBIC, reducing_gap=3.0))
    assert np.abs(decoded_rgb(result) - expected).mean() < 2.0


def test_grayscale_images_are_skipped_but_colour_photos_are_not(tmp_path, coffee):
    gray = np.asarray(Image.fromarray(coffee).convert("L"))
    assert convert(save(str(tmp_path / "gray.jpg"), gray)).reason == "grayscale"
    # A grayscale photo saved as a 3-channel JPEG (JPEG noise between channels).
    gray_rgb = save(str(tmp_path / "gray_rgb.jpg"), np.dstack([gray] * 3), quality=75)
    assert Image.open(gray_rgb).mode == "RGB"
    assert convert(gray_rgb).reason == "grayscale"
    for name in ("astronaut", "coffee", "chelsea", "rocket"):
        assert not is_grayscale(photo(name))


def test_sepia_photo_counts_as_colour(coffee):
    gray = coffee.mean(-1, keepdims=True)
    sepia = np.clip(gray * [1.07, 0.74, 0.43], 0, 255).astype(np.uint8)
    assert not is_grayscale(sepia)


def test_image_smaller_than_the_target_is_upscaled(tmp_path, coffee):
    small = np.asarray(Image.fromarray(coffee).resize((40, 30)))
    result = convert(save(str(tmp_path / "small.png"), small))
    assert result.reason is None and "upscaled" in result.fixes
    assert schema.parse_example(result.record)["lab"].shape == (64, 64, 3)


def test_tiny_image_is_skipped(tmp_path, coffee):
    assert convert(save(str(tmp_path / "icon.png"), coffee[:10, :12])).reason == "too_small"


def test_decompression_bomb_is_refused_from_its_header(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(png_header_only(30000, 30000))
    with pytest.raises(SkipImage) as error:
        load_rgb(Item("bomb", path=str(path)))
    assert error.value.reason == "too_many_pixels" and "30000x30000" in str(error.value)


def test_unreadable_file_is_skipped(tmp_path):
    path = tmp_path / "gone.jpg"
    os.symlink(tmp_path / "does-not-exist.jpg", path)
    assert convert(path).reason == "unreadable"


def test_exif_orientation_is_applied(tmp_path, coffee):
    tall = coffee[:, :120]  # 200 high, 120 wide
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    path = save(str(tmp_path / "rotated.jpg"), tall, exif=exif.tobytes(), quality=98)
    rgb, fixes = load_rgb(Item("r", path=path))
    assert fixes == ["exif_rotated"] and rgb.shape == (120, 200, 3)
