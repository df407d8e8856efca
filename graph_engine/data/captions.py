"""Captioned scenes: 1–3 named shapes left to right, and several true captions per image.

The shapes are painted by the shapes generator (:mod:`graph_engine.data.shapes`); here
each has a size (small, large) and a named colour, and the caption is generated from the
scene, in three phrasings, e.g. "a small red circle left of a large blue square",
"a large blue square right of a small red circle", "a small red circle and a large blue
square". The same seed gives the same pixels and captions.
"""

from __future__ import annotations

import numpy as np

from graph_engine.data.shapes import SHAPE_CLASSES, _Draws, _finish, _paint

KINDS: tuple[str, ...] = ("circle", "square", "triangle", "cross", "star")
COLOURS: dict[str, tuple[float, float, float]] = {
    "red": (0.95, 0.15, 0.12), "green": (0.15, 0.8, 0.2), "blue": (0.2, 0.35, 1.0),
    "yellow": (0.98, 0.9, 0.1), "white": (0.95, 0.95, 0.95),
}
SIZES: dict[str, float] = {"small": 0.26, "large": 0.44}   # radius as a share of the slot
PHRASINGS = 3
_KIND_INDEX = np.array([SHAPE_CLASSES.index(k) for k in KINDS])


def _phrase(size: str, colour: str, kind: str) -> str:
    return f"a {size} {colour} {kind}"


def captions_for(shapes: list[tuple[str, str, str]]) -> list[str]:
    """:data:`PHRASINGS` true captions of shapes given left to right as (size, colour, kind)."""
    phrases = [_phrase(*s) for s in shapes]
    if len(phrases) == 1:
        return [phrases[0], f"there is {phrases[0]}", f"one {phrases[0][2:]}"]
    left = " left of ".join(phrases)
    right = " right of ".join(reversed(phrases))
    listed = " and ".join(phrases)
    return [left, right, listed]


def draw_captioned(n: int, height: int = 32, width: int = 48, seed: int = 0,
                   max_shapes: int = 3) -> tuple[np.ndarray, list[list[str]]]:
    """``n`` images (N, 3, H, W) float32 in [0, 1] with 1..max_shapes shapes in left-to-right
    slots on a dark background, and each image's captions."""
    rng = np.random.default_rng(seed)
    count = rng.integers(1, max_shapes + 1, n)
    base = rng.uniform(0.0, 0.22, (n, 1)) + rng.uniform(-0.03, 0.03, (n, 3))
    gy = np.linspace(-0.5, 0.5, height, dtype=np.float32)[None, :, None]
    gx = np.linspace(-0.5, 0.5, width, dtype=np.float32)[None, None, :]
    tilt = rng.uniform(-0.08, 0.08, (n, 2))
    ramp = (tilt[:, 0, None, None] * gy + tilt[:, 1, None, None] * gx).astype(np.float32)
    images = np.clip(base.astype(np.float32)[:, :, None, None] + ramp[:, None], 0.0, 1.0)
    colour_names = list(COLOURS)
    size_names = list(SIZES)
    scenes: list[list[tuple[str, str, str]]] = [[] for _ in range(n)]
    slot_width = width / max_shapes
    for slot in range(max_shapes):
        kinds = rng.integers(0, len(KINDS), n)
        colours = rng.integers(0, len(colour_names), n)
        sizes = rng.integers(0, len(size_names), n)
        draws = _Draws(rng, n, height, width, size=(0.2, 0.3))
        side = min(slot_width, height)
        radius = np.array([SIZES[size_names[s]] for s in sizes]) * side * rng.uniform(0.92, 1.08, n)
        draws.radius = radius
        # the k shapes of an image share its width: shape j sits in the j-th of k columns
        columns = np.maximum(count, 1)
        column_width = width / columns
        centre = (slot + 0.5) * column_width + rng.uniform(-0.12, 0.12, n) * column_width
        draws.cx = centre
        draws.cy = height / 2 + rng.uniform(-0.18, 0.18, n) * height
        draws.angle = rng.uniform(-np.pi / 18, np.pi / 18, n)
        colour = np.array([COLOURS[colour_names[c]] for c in colours]) * rng.uniform(0.9, 1.0, (n, 1))
        active = count > slot
        _paint(images, _KIND_INDEX[kinds], draws, colour, active)
        for i in np.flatnonzero(active):
            scenes[i].append((size_names[sizes[i]], colour_names[colours[i]], KINDS[kinds[i]]))
    images = _finish(rng, images * 1.0)
    return images, [captions_for(scene) for scene in scenes]
