"""A directory with one sub-folder of PNG/JPEG images per class (the ImageFolder layout)."""

from __future__ import annotations

import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import torch

from graph_engine.data._util import tensor
from graph_engine.data.assemble import image_extra
from graph_engine.data.base import CLASSIFICATION, DataError, Dataset, InputFit
from graph_engine.data.images import fit_images, plan_image_fit
from graph_engine.data.labels import check_classifier_output
from graph_engine.data.split import split_indices

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg"})
_GREY_MODES = frozenset({"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"})


def _visible(path: Path) -> bool:
    """Hidden files and the __MACOSX folder a Finder zip leaves behind are not data."""
    return not path.name.startswith(".") and path.name != "__MACOSX"


def list_classes(root: Path) -> list[tuple[str, list[Path]]]:
    """(class name, sorted image files) per sub-folder, sorted by name; empty ones refused."""
    folders = sorted((p for p in root.iterdir() if p.is_dir() and _visible(p)), key=lambda p: p.name)
    if not folders:
        loose = [p for p in root.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES]
        hint = " (put the images in one sub-folder per class)" if loose else ""
        raise DataError(f"{root}: no class sub-folders with images{hint}")
    classes = []
    for folder in folders:
        files = sorted((p for p in folder.iterdir()
                        if p.is_file() and _visible(p) and p.suffix.lower() in IMAGE_SUFFIXES),
                       key=lambda p: p.name)
        if not files:
            raise DataError(f"{folder}: class folder '{folder.name}' has no PNG or JPEG images")
        classes.append((folder.name, files))
    return classes


def _why(exc: Exception) -> str:
    from PIL import UnidentifiedImageError

    if isinstance(exc, UnidentifiedImageError):
        return "cannot read the image (not a PNG or JPEG file Pillow recognises)"
    return f"cannot read the image ({exc})"


def _open(path: Path):
    """Open and fully decode one image, naming the file when it is corrupt."""
    from PIL import Image, UnidentifiedImageError

    image = None
    try:
        image = Image.open(path)
        image.load()
        return image
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        if image is not None:
            image.close()
        raise DataError(f"{path}: {_why(exc)}") from None


def _header(path: Path) -> tuple[tuple[int, int], bool]:
    """(width, height) and whether it is colour, from the header alone (no decoding)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return image.size, image.mode not in _GREY_MODES
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise DataError(f"{path}: {_why(exc)}") from None


def _pixels(image, channels: int) -> np.ndarray:
    """(H, W) or (H, W, 3) uint8. 16-bit and float grey images keep their contrast (Pillow's
    own "L" conversion would clip everything above 255 to white)."""
    if image.mode in ("I", "F") or image.mode.startswith("I;16"):
        grey = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith("I;16") else max(float(grey.max()), 1.0)
        grey = np.clip(grey / top * 255.0, 0, 255).astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=2) if channels == 3 else grey
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")      # Pillow's palette-transparency advice
        return np.asarray(image.convert("RGB" if channels == 3 else "L"), dtype=np.uint8)


def load_image_folder(root: Path, fit: InputFit, seed: int, fraction: float) -> Dataset:
    """Natural shape = the most common size, colour if any image is; each image is resized on
    its own straight to the Input's size, so mixed sizes and large photos are fine."""
    classes = list_classes(root)
    names = [name for name, _ in classes]
    files = [f for _, group in classes for f in group]
    labels = np.concatenate([np.full(len(group), k, dtype=np.int64) for k, (_, group) in enumerate(classes)])
    headers = [_header(f) for f in files]
    (width, height), _ = Counter(size for size, _ in headers).most_common(1)[0]
    channels = 3 if any(colour for _, colour in headers) else 1
    plan = plan_image_fit(root.name, (channels, height, width), fit)
    check_classifier_output(root.name, len(names), fit.output_shape)

    x = torch.empty((len(files), *plan.sample_shape), dtype=torch.float32)
    for i, path in enumerate(files):
        with _open(path) as image:
            pixels = _pixels(image, channels)
        pixels = pixels[None, None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)[None]
        x[i] = fit_images(pixels, plan)[0]
    train, val = split_indices(len(files), fraction, seed, labels)
    return Dataset(
        name=root.name, task=CLASSIFICATION,
        x_train=x[torch.from_numpy(train)], y_train=tensor(labels[train], torch.int64),
        x_val=x[torch.from_numpy(val)], y_val=tensor(labels[val], torch.int64),
        num_classes=len(names), class_names=names, source=str(root),
        extra=image_extra(plan, "split") | {"files": len(files)})
