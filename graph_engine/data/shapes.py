"""Procedural shapes: RGB images of ten shape classes, and scenes with per-pixel masks.

Everything is vectorised numpy over the whole batch (one boolean mask per class group), so
3,000 images of 32×32 take a few tens of milliseconds, and every random draw comes from one
generator seeded by the caller: the same seed gives the same pixels.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

SHAPE_CLASSES: tuple[str, ...] = (
    "circle", "square", "triangle", "cross", "ring", "diamond", "star",
    "horizontal stripes", "vertical stripes", "diagonal stripes",
)
#: segmentation mask values: 0 background, then these five shapes
SEGMENTATION_CLASSES: tuple[str, ...] = ("background", "circle", "square", "triangle", "cross", "star")
_SEGMENTATION_KINDS = np.array([SHAPE_CLASSES.index(c) for c in SEGMENTATION_CLASSES[1:]])

_STRIPE_ANGLE = {7: 0.0, 8: np.pi / 2, 9: np.pi / 4}   # stripe direction per stripes class
_TILT = np.pi / 12                                      # ±15° of random rotation for every shape


def _star(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    rho = np.hypot(u, v)
    phase = np.mod(np.arctan2(v, u) + np.pi / 2, 2 * np.pi / 5)   # a tip points up
    tip = np.abs(phase - np.pi / 5) / (np.pi / 5)                  # 1 at a tip, 0 between
    return rho <= 0.4 + 0.6 * tip


def _stripes(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    # u, v are already turned to the stripe direction: bands across v inside a square patch
    return (np.maximum(np.abs(u), np.abs(v)) <= 0.9) & (np.floor(v * 2.5 + 8.0) % 2 == 0)


_MASKS: tuple[Callable[[np.ndarray, np.ndarray], np.ndarray], ...] = (
    lambda u, v: u * u + v * v <= 1.0,                                           # circle
    lambda u, v: np.maximum(np.abs(u), np.abs(v)) <= 0.8,                        # square
    lambda u, v: (v <= 0.7) & (np.abs(u) <= (v + 1.0) / np.sqrt(3.0)),           # triangle
    lambda u, v: ((np.abs(u) <= 0.3) & (np.abs(v) <= 1.0))
    | ((np.abs(v) <= 0.3) & (np.abs(u) <= 1.0)),                                 # cross
    lambda u, v: (u * u + v * v <= 1.0) & (u * u + v * v >= 0.55 ** 2),          # ring
    lambda u, v: np.abs(u) + np.abs(v) <= 1.0,                                   # diamond
    _star,
    _stripes, _stripes, _stripes,
)


class _Draws:
    """Per-shape random parameters, drawn for all N at once so grouping never changes them."""

    def __init__(self, rng: np.random.Generator, n: int, height: int, width: int,
                 size: tuple[float, float]) -> None:
        side = min(height, width)
        self.radius = rng.uniform(size[0], size[1], n) * side
        margin_x = np.minimum(self.radius * 0.9, width / 2)
        margin_y = np.minimum(self.radius * 0.9, height / 2)
        self.cx = margin_x + rng.random(n) * (width - 2 * margin_x)
        self.cy = margin_y + rng.random(n) * (height - 2 * margin_y)
        self.angle = rng.uniform(-_TILT, _TILT, n)
        self.flip = rng.random(n) < 0.5          # diagonal stripes: / or \
        self.colour = rng.random((n, 3))


def _contrasting(rng: np.random.Generator, background: np.ndarray, colour: np.ndarray) -> np.ndarray:
    """Redraw shape colours too close to their background (a few rounds, then complement)."""
    colour = colour.copy()
    for _ in range(8):
        close = np.linalg.norm(colour - background, axis=1) < 0.45
        if not close.any():
            return colour
        colour[close] = rng.random((int(close.sum()), 3))
    close = np.linalg.norm(colour - background, axis=1) < 0.45
    colour[close] = np.mod(background[close] + 0.5, 1.0)
    return colour


def _paint(images: np.ndarray, kinds: np.ndarray, draws: _Draws, colour: np.ndarray,
           active: np.ndarray, masks: np.ndarray | None = None,
           mask_values: np.ndarray | None = None) -> None:
    """Draw shape ``kinds[i]`` into image i for every active i, grouped by kind (vectorised)."""
    height, width = images.shape[-2:]
    ys = (np.arange(height, dtype=np.float32) + 0.5)[None, :, None]
    xs = (np.arange(width, dtype=np.float32) + 0.5)[None, None, :]
    for kind in np.unique(kinds[active]):
        idx = np.flatnonzero(active & (kinds == kind))
        r = draws.radius[idx, None, None].astype(np.float32)
        dx = (xs - draws.cx[idx, None, None].astype(np.float32)) / r
        dy = (ys - draws.cy[idx, None, None].astype(np.float32)) / r
        angle = draws.angle[idx] + _STRIPE_ANGLE.get(int(kind), 0.0)
        if int(kind) == 9:
            angle = angle + np.where(draws.flip[idx], np.pi / 2, 0.0)
        cos = np.cos(angle).astype(np.float32)[:, None, None]
        sin = np.sin(angle).astype(np.float32)[:, None, None]
        u, v = cos * dx + sin * dy, -sin * dx + cos * dy
        inside = _MASKS[int(kind)](u, v)                                  # (n, H, W)
        for c in range(3):
            channel = images[idx, c]
            images[idx, c] = np.where(inside, colour[idx, c, None, None].astype(np.float32), channel)
        if masks is not None and mask_values is not None:
            masks[idx] = np.where(inside, mask_values[idx, None, None], masks[idx])


def _backgrounds(rng: np.random.Generator, n: int, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """A random colour per image with a gentle random linear gradient."""
    base = rng.random((n, 3))
    tilt = rng.uniform(-0.15, 0.15, (n, 2))
    gy = np.linspace(-0.5, 0.5, height, dtype=np.float32)[None, :, None]
    gx = np.linspace(-0.5, 0.5, width, dtype=np.float32)[None, None, :]
    ramp = (tilt[:, 0, None, None] * gy + tilt[:, 1, None, None] * gx).astype(np.float32)
    images = base.astype(np.float32)[:, :, None, None] + ramp[:, None]
    return images, base


def _finish(rng: np.random.Generator, images: np.ndarray) -> np.ndarray:
    """Per-image Gaussian noise of a random strength, then clip to [0, 1]."""
    sigma = rng.uniform(0.0, 0.06, images.shape[0]).astype(np.float32)[:, None, None, None]
    images += sigma * rng.standard_normal(images.shape, dtype=np.float32)
    return np.clip(images, 0.0, 1.0, out=images)


def draw_shapes(n: int, height: int = 32, width: int = 32, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` images (N, 3, H, W) float32 in [0, 1], one shape each, and labels (N,) int64.

    Classes are exactly balanced (n // 10 or one more each) in a seeded random order.
    """
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % len(SHAPE_CLASSES)).astype(np.int64)
    images, background = _backgrounds(rng, n, height, width)
    draws = _Draws(rng, n, height, width, size=(0.22, 0.42))
    colour = _contrasting(rng, background, draws.colour)
    _paint(images, labels, draws, colour, np.ones(n, dtype=bool))
    return _finish(rng, images), labels


def draw_scenes(n: int, height: int = 32, width: int = 32, seed: int = 0,
                max_shapes: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """``n`` images with 1..max_shapes shapes and masks (N, H, W) int64 in 0..5.

    Mask values index :data:`SEGMENTATION_CLASSES`; a later shape covers an earlier one in both
    the image and the mask.
    """
    rng = np.random.default_rng(seed)
    count = rng.integers(1, max_shapes + 1, n)
    images, background = _backgrounds(rng, n, height, width)
    masks = np.zeros((n, height, width), dtype=np.int64)
    for slot in range(max_shapes):
        values = rng.integers(1, len(SEGMENTATION_CLASSES), n)
        draws = _Draws(rng, n, height, width, size=(0.14, 0.26))
        colour = _contrasting(rng, background, draws.colour)
        _paint(images, _SEGMENTATION_KINDS[values - 1], draws, colour, count > slot, masks, values)
    return _finish(rng, images), masks
