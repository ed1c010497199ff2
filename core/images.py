"""The project's one image-file reader: ``bench score``'s folders, pix2pix AB folders and the real datasets' photos
all open images here, so bit depth and transparency follow one rule everywhere.

Rules (``read_image``):
- 8-bit files (grey, palette, RGB, CMYK, ...) → RGB, exactly as Pillow converts them.
- 16-bit integer files (mode ``I;16*``, e.g. 16-bit grey PNG/TIFF) → value / 65535. Pillow's own RGB conversion
  clips them at 255, which turns almost every 16-bit image white; it is never used for them.
- 32-bit integer files (mode ``I``, no declared range): values ≤ 255 are read as 8-bit, ≤ 65535 as 16-bit; other
  values are refused. 32-bit float files (mode ``F``) and ``.npy`` floats must lie in [0,1].
- ``.npy`` arrays: HxW, HxWxC or CxHxW with 1 or 3 channels; uint8 → /255, uint16 → /65535.
- Transparency (RGBA, LA, PA, or a transparency key): the colours are **composited on white**
  (``rgb·α + (1 − α)``), so what is scored is what a viewer shows; the colours under transparent pixels never count.
  ``ImageRead.transparent`` counts the pixels with α < 1, for a warning by whoever reads a folder.

Label maps hold class ids, not intensities: they are read by the label readers (no rescaling, no compositing).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from core.errors import DataError

HIGH_DEPTH_MODES = ("I;16", "I;16B", "I;16L", "I;16N")
ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")
TRANSPARENCY_RULE = "transparent pixels composited on white (rgb·α + 1 − α)"
"""The rule applied to images with an alpha channel, said once for every warning about it."""


@dataclass(frozen=True)
class ImageRead:
    """A decoded image: ``pixels`` [H,W,3] (float32 in [0,1], or uint8 when asked), ``depth`` of the file
    ("8-bit", "16-bit", "32-bit int", "float"), ``transparent`` pixels (α < 1) composited on white."""

    pixels: np.ndarray
    depth: str
    transparent: int = 0


def _channels(array: np.ndarray, path: Path) -> np.ndarray:
    """[H,W,3] from an HxW, HxWx{1,3} or {1,3}xHxW array."""
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3:
        raise DataError(f"{path}: expected an HxW, HxWxC or CxHxW array, got shape {array.shape}")
    if array.shape[0] in (1, 3) and array.shape[-1] not in (1, 3):
        array = np.moveaxis(array, 0, -1)
    if array.shape[-1] == 1:
        array = np.repeat(array, 3, axis=-1)
    if array.shape[-1] != 3:
        raise DataError(f"{path}: expected 1 or 3 channels, got shape {array.shape}")
    return array


def _unit_float(array: np.ndarray, path: Path) -> np.ndarray:
    """float32 in [0,1] from uint8, uint16 or float data; floats outside [0,1] are refused with the likely fix."""
    if array.dtype == np.uint8:
        return array.astype(np.float32) / 255
    if array.dtype == np.uint16:
        return array.astype(np.float32) / 65535
    if not np.issubdtype(array.dtype, np.floating):
        raise DataError(f"{path}: unsupported array dtype {array.dtype}", hint="use uint8, uint16 or float in [0,1]")
    data = array.astype(np.float32)
    if not np.isfinite(data).all():
        raise DataError(f"{path}: contains NaN or infinite values")
    low, high = float(data.min()), float(data.max())
    if low < -1e-6 or high > 1 + 1e-6:
        hint = ("values look like [-1,1]: save (x + 1) / 2" if low < 0 else
                "values look like 8-bit: save x / 255 (or uint8)" if high > 1.5 else "clamp to [0,1]")
        raise DataError(f"{path}: float image values must lie in [0,1], found [{low:.4g}, {high:.4g}]", hint=hint)
    return data


def _integer_depth(image: Image.Image, path: Path) -> tuple[np.ndarray, str]:
    """float32 [H,W] in [0,1] of a 16- or 32-bit integer grey image."""
    array = np.asarray(image).astype(np.int64)
    if image.mode in HIGH_DEPTH_MODES:
        return (array / 65535).astype(np.float32), "16-bit"
    low, high = int(array.min()), int(array.max())
    if low < 0 or high > 65535:
        raise DataError(f"{path}: 32-bit integer image with values in [{low}, {high}], outside 8- and 16-bit range",
                        hint="save it as an 8- or 16-bit PNG (or a float .npy in [0,1])")
    return (array / (255 if high <= 255 else 65535)).astype(np.float32), "32-bit int"


def _composite(rgba: np.ndarray) -> tuple[np.ndarray, int]:
    """float32 [H,W,3] of float [H,W,4] composited on white, and the count of pixels with α < 1."""
    alpha = rgba[..., 3:]
    return (rgba[..., :3] * alpha + (1 - alpha)).astype(np.float32), int((alpha < 1).sum())


def _decode(image: Image.Image, path: Path) -> ImageRead:
    if image.mode in HIGH_DEPTH_MODES or image.mode == "I":
        grey, depth = _integer_depth(image, path)
        key = image.info.get("transparency")
        if isinstance(key, int):  # a grey transparency key: those pixels are fully transparent
            rgba = np.concatenate([np.repeat(grey[..., None], 3, -1),
                                   (np.asarray(image) != key)[..., None].astype(np.float32)], axis=-1)
            pixels, transparent = _composite(rgba)
            return ImageRead(pixels, depth, transparent)
        return ImageRead(np.repeat(grey[..., None], 3, axis=-1), depth)
    if image.mode == "F":
        return ImageRead(_unit_float(_channels(np.asarray(image, dtype=np.float32), path), path), "float")
    if image.mode in ALPHA_MODES or "transparency" in image.info:
        rgba = np.asarray(image.convert("RGBA")).astype(np.float32) / 255
        pixels, transparent = _composite(rgba)
        return ImageRead(pixels, "8-bit", transparent)
    return ImageRead(np.asarray(image.convert("RGB")), "8-bit")  # uint8 here; read_image makes it float


def read_image(path: str | Path, dtype: type = np.float32) -> ImageRead:
    """Read an image file or ``.npy`` array by the module's rules.

    ``dtype``: ``np.float32`` → pixels float32 [H,W,3] in [0,1]; ``np.uint8`` → uint8 [H,W,3] (8-bit opaque files
    exactly as Pillow's RGB conversion, others rounded from [0,1]). Raises ``DataError`` naming the file for an
    unreadable file, an unsupported array or values outside the declared range.
    """
    path = Path(path)
    try:
        if path.suffix.lower() == ".npy":
            array = _channels(np.load(path, allow_pickle=False), path)
            read = ImageRead(_unit_float(array, path), "8-bit" if array.dtype == np.uint8 else str(array.dtype))
        else:
            with Image.open(path) as image:
                image.load()
                read = _decode(image, path)
    except DataError:
        raise
    except FileNotFoundError as exc:  # listed when the dataset was indexed, gone now (deleted or moved mid-run)
        raise DataError(f"image {path} is missing (deleted or moved after its folder was listed)",
                        hint="restore the file and rerun (the run resumes from its checkpoints), or remove it for "
                             "good and rerun so that the folder is listed again") from exc
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        raise DataError(f"cannot read image {path}: {exc}", hint="re-export the file or remove it from the folder"
                        ) from exc
    pixels = read.pixels
    if dtype == np.uint8 and pixels.dtype != np.uint8:
        pixels = np.round(np.clip(pixels, 0, 1) * 255).astype(np.uint8)
    elif dtype != np.uint8 and pixels.dtype == np.uint8:
        pixels = pixels.astype(np.float32) / 255
    return ImageRead(pixels, read.depth, read.transparent)


_WARNED: set[Path] = set()  # folders already warned about transparency in this process


def read_rgb(path: str | Path) -> np.ndarray:
    """uint8 [H,W,3] RGB of an image file by ``read_image``'s rules (16-bit rescaled, alpha composited on white);
    the first transparent image of a folder warns (``UserWarning``, once per folder)."""
    path = Path(path)
    read = read_image(path, np.uint8)
    if read.transparent and path.parent not in _WARNED:
        _WARNED.add(path.parent)
        warnings.warn(f"{path.parent}: images with transparency (first: {path.name}); read with {TRANSPARENCY_RULE}",
                      stacklevel=2)
    return read.pixels


def transparency_warning(folder: str | Path, images: int, pixels: int) -> str:
    """The one warning for a folder in which ``images`` files had ``pixels`` transparent pixels in all."""
    return (f"{folder}: {images} image(s) with transparency ({pixels} transparent pixels); scored with "
            f"{TRANSPARENCY_RULE}, not the colours stored under them")
