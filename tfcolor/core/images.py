"""Turns a photo file (or in-memory array) into an 8-bit sRGB array, or says why not.

Used by every stage that reads photos: data_prep (through data_prep.decode, which adds
Beam's filesystems), colourising and evaluation.

Everything that can go wrong with a photo collection ends here as either a
*fix* (the image is converted and kept; the fix is counted) or a
:class:`SkipImage` with a short reason (the image is left out; counted).

Fixes: ``exif_rotated``, ``cmyk_converted``, ``icc_converted``,
``alpha_composited`` (over white), ``palette_converted``, ``16bit_reduced``,
``upscaled`` (smaller than the stored size).

Skip reasons: ``empty_file``, ``unreadable``, ``not_an_image``,
``truncated_or_corrupt``, ``too_many_pixels`` (decompression bomb, refused from
the header before any pixel is decoded), ``too_small``, ``grayscale``,
``unsupported_mode``, ``duplicate_key`` (a key listed before; decided when
planning, see data_prep.pipeline.mark_duplicates).
"""

import dataclasses
import io
import os
import warnings

import numpy as np
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

# We enforce our own pixel limit from the header; Pillow's own check would
# raise a different error for the same files.
Image.MAX_IMAGE_PIXELS = None


# The file names read as photos when a folder is given (data_prep, colorize, int8 calibration).
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm")


def photo_files(folder, recursive=True, extensions=IMAGE_EXTENSIONS):
    """Sorted paths of the photo files (by extension) in ``folder``."""
    import glob

    pattern = os.path.join(folder, "**", "*") if recursive else os.path.join(folder, "*")
    return [p for p in sorted(glob.glob(pattern, recursive=recursive))
            if p.lower().endswith(extensions) and os.path.isfile(p)]


class SkipImage(Exception):
    """Raised with a short reason when an input cannot become a good record."""

    def __init__(self, reason, detail=""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclasses.dataclass(frozen=True)
class Item:
    """One input: a file path, or an in-memory uint8 RGB array (CIFAR, samples)."""

    key: str
    path: str | None = None
    array: np.ndarray | None = None
    skip: str | None = None  # a reason decided before decoding (duplicate_key)


_SRGB_PROFILE = None


def _srgb_profile():
    global _SRGB_PROFILE
    if _SRGB_PROFILE is None:
        _SRGB_PROFILE = ImageCms.createProfile("sRGB")
    return _SRGB_PROFILE


def _apply_icc(image, fixes):
    """Converts to sRGB through an embedded ICC profile (Adobe RGB, CMYK...)."""
    icc = image.info.get("icc_profile")
    if not icc or image.mode not in ("RGB", "CMYK"):
        return image
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        description = ImageCms.getProfileDescription(profile) or ""
        if image.mode == "RGB" and "srgb" in description.lower():
            return image
        converted = ImageCms.profileToProfile(image, profile, _srgb_profile(), outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError):
        return image  # a broken profile: fall back to the plain conversion
    fixes.append("icc_converted")
    return converted


def _flatten_alpha(image):
    rgba = image.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(background, rgba).convert("RGB")


def _reduce_16bit(image):
    """16-bit gray ('I;16*') -> 8-bit by keeping the top byte; 'I' only when it exceeds 255."""
    array = np.asarray(image).astype(np.int64)
    if image.mode.startswith("I;16") or array.max(initial=0) > 255:
        array = array >> 8
    return Image.fromarray(np.clip(array, 0, 255).astype(np.uint8), "L")


def _is_16bit_rgb(image):
    """Pillow reads 48-bit RGB PNGs as 8-bit RGB; its raw mode tells."""
    return image.mode == "RGB" and any(";16" in str(tile.args) for tile in getattr(image, "tile", []))


def _to_rgb(image, fixes):
    """Any Pillow mode -> RGB, recording what had to be fixed."""
    mode = image.mode
    if mode == "CMYK":
        converted = _apply_icc(image, fixes)
        if converted.mode != "RGB":
            converted = image.convert("RGB")
        fixes.append("cmyk_converted")
        return converted
    if mode == "RGB":
        return _apply_icc(image, fixes)
    if mode == "P":
        fixes.append("palette_converted")
        if "transparency" in image.info:
            fixes.append("alpha_composited")
            return _flatten_alpha(image)
        return image.convert("RGB")
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        fixes.append("alpha_composited")
        return _flatten_alpha(image)
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        fixes.append("16bit_reduced")
        return _reduce_16bit(image).convert("RGB")
    if mode in ("L", "1"):
        return image.convert("RGB")
    if mode in ("YCbCr", "LAB", "HSV", "F"):
        return image.convert("RGB")
    raise SkipImage("unsupported_mode", mode)


def open_image(path, max_pixels, read_bytes=None):
    """Opens a file lazily, checking it before any pixel is decoded. ``read_bytes``: a function
    path -> bytes for files on other filesystems (data_prep passes Beam's for gs:// paths)."""
    try:
        if read_bytes is not None:
            path = io.BytesIO(read_bytes(path))
            size = len(path.getbuffer())
        else:
            size = os.path.getsize(path)
    except Exception as e:  # noqa: BLE001 (each filesystem raises its own kinds)
        raise SkipImage("unreadable", str(e)) from e
    if size == 0:
        raise SkipImage("empty_file")
    try:
        image = Image.open(path)
    except UnidentifiedImageError as e:
        raise SkipImage("not_an_image", str(e)) from e
    except OSError as e:
        raise SkipImage("unreadable", str(e)) from e
    width, height = image.size
    if width * height > max_pixels:
        raise SkipImage("too_many_pixels", f"{width}x{height} > {max_pixels} pixels")
    return image


def load_rgb(item, max_pixels=100_000_000, read_bytes=None):
    """Loads an item as uint8 RGB ``[H, W, 3]``.

    Args:
      item: :class:`Item`.
      max_pixels: images whose header claims more pixels are refused.
      read_bytes: see :func:`open_image`.

    Returns:
      (array, fixes): the image and the list of fixes applied to it.

    Raises:
      SkipImage: with the reason the item cannot be used.
    """
    fixes = []
    if item.array is not None:
        array = np.asarray(item.array)
        if array.dtype != np.uint8 or array.ndim != 3 or array.shape[-1] != 3:
            raise SkipImage("unsupported_mode", f"array {array.dtype} {array.shape}")
        return array, fixes
    image = open_image(item.path, max_pixels, read_bytes)
    if _is_16bit_rgb(image):
        fixes.append("16bit_reduced")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            image.load()
            transposed = ImageOps.exif_transpose(image)
        if transposed is not image and transposed.size != image.size:
            fixes.append("exif_rotated")
        image = _to_rgb(transposed, fixes)
        array = np.asarray(image, dtype=np.uint8)
    except SkipImage:
        raise
    except (OSError, SyntaxError, ValueError, IndexError, EOFError) as e:
        # Pillow reports truncated data and broken streams through these.
        raise SkipImage("truncated_or_corrupt", str(e)) from e
    return array, fixes


def is_grayscale(rgb, tolerance=6.0):
    """True when the three channels are (nearly) equal everywhere.

    Catches grayscale photos saved as RGB, whose channels differ only by JPEG
    noise: more than 1 % of the pixels (the 99th percentile) must have a
    channel spread (max - min over R, G, B, in 8-bit levels) above
    ``tolerance`` for a colour photo. Tinted monochrome (sepia) has a
    consistent spread and counts as colour. Looks at a ~128 px subsample.
    """
    step = max(1, max(rgb.shape[:2]) // 128)
    sample = rgb[::step, ::step]
    red, green, blue = sample[..., 0], sample[..., 1], sample[..., 2]
    spread = np.maximum(np.maximum(red, green), blue) - np.minimum(np.minimum(red, green), blue)
    return np.count_nonzero(spread > tolerance) <= 0.01 * spread.size
