"""Top-activating input patches per channel (Zeiler & Fergus 2014).

For each channel of a convolutional node, the k units over a whole dataset that
respond most strongly, and the piece of input each of them sees: its receptive
field. Streaming keeps a running top-k per channel on the device: one batch of
activations at a time plus at most about MERGE_ENTRIES per-sample maxima (12 MB)
and k per channel, however large the dataset; only the winners travel to the host.

Memory stays flat in the receptive field (issue 18): a crop is never larger than the input
image (a field wider than the image is cut to the image's size around the unit's centre),
crops are cut a few at a time (CROP_CHUNK_BYTES) and kept downscaled to at most
STORED_PIXELS a side. :func:`full_crop` cuts one patch again at full resolution.
"""

from __future__ import annotations

import math
import os

import numpy as np
import torch
import torch.nn.functional as F
from torch import fx

from graph_engine.analysis import Analysis
from graph_engine.atomic import write_atomic
from graph_engine.model import Graph
from graph_engine.probes._common import evaluating, live_ids, model_device, tapped, to_uint8
from graph_engine.probes.patch_sets import SCALES, TopPatches, scaled_patches  # noqa: F401 (re-exported)
from graph_engine.patch_choice import patch_candidate, patch_candidates  # noqa: F401 (re-exported)
from graph_engine.registry import AxisField

#: per-sample channel maxima buffered on the device between two top-k merges (12 bytes each)
MERGE_ENTRIES = 1 << 20
#: smallest side of a patch in the grid image, in screen pixels
MIN_PATCH_PIXELS = 24
#: space between patches in the grid image
GAP_PIXELS = 2
#: colour of the gaps and of empty slots (dark blue-grey, distinct from black patches)
BACKGROUND = (40, 44, 52)
#: stored patches are downscaled (area average) to at most this many pixels a side
STORED_PIXELS = 64
#: full-size crops cut at once before they are downscaled (float32 bytes)
CROP_CHUNK_BYTES = 4 << 20
#: width of the grid image's label column ("ch 12" over the channel's top activation)
LABEL_PIXELS = 56
LABEL_COLOR = (220, 223, 228)


def top_patches(model: fx.GraphModule, graph: Graph, analysis: Analysis, x_all: torch.Tensor,
                node_id: str, k: int = 9, batch_size: int = 256, step: int = 0) -> TopPatches:
    """Top-``k`` activating units of every channel of ``node_id`` over ``x_all``.

    ``x_all`` is (N, C_in, H, W), on the CPU or the device; batches move to the
    model's device one at a time. ``node_id`` must output (C, H, W) and have a
    receptive field. ``k`` larger than N gives N per channel. ``step`` is carried
    along for the caller (the training step the patches belong to).
    """
    field = _check(model, graph, analysis, x_all, node_id, k, batch_size)
    channels, height, width = analysis.info(node_id).out_shape
    count = int(x_all.shape[0])
    k = min(k, count)
    module = tapped(model, [node_id])
    with evaluating(model):
        values, keys = _stream_top_k(module, node_id, x_all, k, min(batch_size, count),
                                     channels, height * width, model_device(model))
    samples, unit = np.divmod(keys, height * width)
    positions = np.stack(np.divmod(unit, width), axis=-1)
    boxes, _ = _boxes(positions, field)
    images, ranges = _stored_crops(x_all, samples.reshape(-1), boxes.reshape(-1, 4))
    return TopPatches(node_id=node_id, step=int(step), values=values, sample_indices=samples,
                      positions=positions, boxes=boxes,
                      patches=images.reshape(channels, k, *images.shape[1:]),
                      ranges=ranges.reshape(channels, k, 2))


def crop_box(box: np.ndarray, image_size: tuple[int, int]) -> np.ndarray:
    """``box`` (..., 4) cut to at most ``image_size`` (H, W) around its centre: a field wider
    than the image sees the image and its zero padding, and cutting it keeps a patch (and
    its memory) no larger than the image while the unit's centre stays in the middle."""
    box = np.asarray(box, dtype=np.int64)
    out = box.copy()
    for axis, limit in enumerate(image_size):
        start, stop = box[..., axis], box[..., axis + 2]
        size = np.minimum(stop - start, limit)
        out[..., axis] = start + (stop - start - size) // 2
        out[..., axis + 2] = out[..., axis] + size
    return out


def stored_size(height: int, width: int) -> tuple[int, int]:
    """A crop's size once downscaled to at most STORED_PIXELS a side, aspect kept."""
    factor = min(1.0, STORED_PIXELS / max(height, width))
    return max(1, round(height * factor)), max(1, round(width * factor))


def _stored_crops(x_all: torch.Tensor, samples: np.ndarray, boxes: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
    """uint8 (n, C, h, w) display crops of ``boxes`` and (n, 2) their value ranges.

    Boxes are cut to the image's size (:func:`crop_box`); crops are cut CROP_CHUNK_BYTES
    at a time and downscaled at once, so the peak is one chunk, not n full-size crops.
    """
    cut = crop_box(boxes, (int(x_all.shape[2]), int(x_all.shape[3])))
    ph, pw = (int(v) for v in (cut[0, 2] - cut[0, 0], cut[0, 3] - cut[0, 1])) if len(cut) else (1, 1)
    depth = int(x_all.shape[1]) if x_all.shape[1] in (1, 3) else 1
    sh, sw = stored_size(ph, pw)
    count = len(cut)
    images = np.empty((count, depth, sh, sw), dtype=np.uint8)
    ranges = np.empty((count, 2), dtype=np.float32)
    chunk = max(1, CROP_CHUNK_BYTES // (4 * int(x_all.shape[1]) * ph * pw))
    for start in range(0, count, chunk):
        crops = crop_boxes(x_all, samples[start:start + chunk], cut[start:start + chunk], ph, pw).float()
        if crops.shape[1] != depth:
            crops = crops.mean(dim=1, keepdim=True)
        if (sh, sw) != (ph, pw):
            crops = F.interpolate(crops, size=(sh, sw), mode="area")
        rows = torch.nan_to_num(crops.reshape(crops.shape[0], -1), nan=0.0, posinf=0.0, neginf=0.0)
        low, high = torch.aminmax(rows, dim=1)
        ranges[start:start + len(rows)] = torch.stack([low, high], dim=1).cpu().numpy()
        images[start:start + len(rows)] = to_uint8(rows).reshape(crops.shape).cpu().numpy()
    return images, ranges


def full_crop(x_all: torch.Tensor, sample_index: int, box: tuple[int, int, int, int]) -> np.ndarray:
    """One patch again at full resolution: (C, h, w) uint8 of ``box`` cut to the image's size
    around its centre, zero past the border, min-max scaled (what a stored patch shows,
    before it was downscaled)."""
    cut = crop_box(np.asarray([box]), (int(x_all.shape[2]), int(x_all.shape[3])))
    height, width = int(cut[0, 2] - cut[0, 0]), int(cut[0, 3] - cut[0, 1])
    crop = crop_boxes(x_all, np.asarray([sample_index]), cut, height, width)[0].float()
    if crop.shape[0] not in (1, 3):
        crop = crop.mean(dim=0, keepdim=True)
    return to_uint8(crop.reshape(1, -1)).reshape(crop.shape).cpu().numpy()


def _stream_top_k(module: fx.GraphModule, node_id: str, x_all: torch.Tensor, k: int, batch: int,
                  channels: int, units: int, device: torch.device) -> tuple[np.ndarray, np.ndarray]:
    """Each channel's k largest per-sample maxima and their keys (sample · units + unit).

    Every batch adds one kernel: ``max`` over positions, written with ``out=`` into a
    buffer of per-sample maxima below the running top-k. When the buffer is full (or
    the data ends) one ``topk`` over running + buffered rows merges them. On a GPU
    each launch costs far more than this work, so merging once per
    :data:`MERGE_ENTRIES` maxima instead of once per batch keeps the whole scan near
    the cost of the forward pass. Returns (C, k) arrays on the host.
    """
    count = int(x_all.shape[0])
    batches = -(-count // batch)
    per_merge = min(batches, max(1, MERGE_ENTRIES // (channels * batch), -(-k // batch)))
    rows = per_merge * batch  # >= k, so the first merge has k real rows to choose from
    values = torch.empty((k + rows, channels), device=device)
    keys = torch.empty((k + rows, channels), dtype=torch.int64, device=device)
    row_keys = torch.arange(rows, device=device).mul_(units).unsqueeze(1)
    filled, first_sample, merged = 0, 0, False
    best = best_keys = None
    for start in range(0, count, batch):
        output = module(x_all[start:start + batch].to(device, non_blocking=True))[node_id]
        size = output.shape[0]
        low, high = k + filled, k + filled + size
        torch.max(output.flatten(2).float(), dim=2, out=(values[low:high], keys[low:high]))
        filled += size
        if filled < rows and first_sample + filled < count:
            continue
        keys[k:k + filled].add_(row_keys[:filled]).add_(first_sample * units)
        top = 0 if merged else k  # before the first merge rows 0..k-1 hold nothing
        best, rank = torch.topk(values[top:k + filled], k, dim=0)
        best_keys = keys[top:k + filled].gather(0, rank)
        first_sample, filled, merged = start + size, 0, True
        if first_sample < count:
            values[:k].copy_(best)
            keys[:k].copy_(best_keys)
    return best.t().cpu().numpy(), best_keys.t().cpu().numpy()


def _check(model: fx.GraphModule, graph: Graph, analysis: Analysis, x_all: torch.Tensor,
           node_id: str, k: int, batch_size: int) -> tuple[AxisField, AxisField]:
    """The node's two-axis receptive field, or ValueError saying what does not fit."""
    if node_id not in graph.nodes:
        raise ValueError(f"top_patches: no node {node_id!r} in graph {graph.name!r}")
    info = analysis.info(node_id)
    shape = info.out_shape
    if shape is None or len(shape) != 3:
        shown = "unknown" if shape is None else "×".join(map(str, shape))
        raise ValueError(f"top_patches: {node_id!r} must output (C, H, W) feature maps, "
                         f"but its output is {shown}")
    if info.field is None or len(info.field) != 2:
        raise ValueError(f"top_patches: {node_id!r} has no 2-d receptive field in the input "
                         "(a Flatten, Reshape, Linear or recurrent layer lies between them)")
    if node_id not in live_ids(model):
        raise ValueError(f"top_patches: {node_id!r} is not compiled into the model "
                         "(it is not on a path to the Output)")
    if x_all.dim() != 4 or x_all.shape[0] == 0:
        raise ValueError(f"top_patches: x_all must be a non-empty (N, C, H, W) batch, "
                         f"got shape {tuple(x_all.shape)}")
    if k < 1 or batch_size < 1:
        raise ValueError(f"top_patches: k and batch_size must be at least 1 (got {k}, {batch_size})")
    return info.field  # type: ignore[return-value]


def patch_size(axis: AxisField) -> int:
    """The field's size in whole pixels (halves round up), at least 1."""
    return max(1, math.floor(axis.size + 0.5))


def _boxes(positions: np.ndarray, field: tuple[AxisField, AxisField]
           ) -> tuple[np.ndarray, tuple[int, int]]:
    """Input boxes of units at ``positions`` (..., 2): centre start + i·jump, fixed size."""
    sizes = tuple(patch_size(axis) for axis in field)
    corners = []
    for axis_index, (axis, size) in enumerate(zip(field, sizes)):
        centre = axis.start + positions[..., axis_index].astype(np.float64) * axis.jump
        corners.append(np.floor(centre - size / 2 + 0.5).astype(np.int64))
    y0, x0 = corners
    return np.stack([y0, x0, y0 + sizes[0], x0 + sizes[1]], axis=-1), sizes


def crop_boxes(images: torch.Tensor, samples: np.ndarray, boxes: np.ndarray,
               height: int, width: int) -> torch.Tensor:
    """``images[samples[i], :, y0:y1, x0:x1]`` for each box, zero past the borders.

    images (N, C, H, W); samples (n,); boxes (n, 4) of (y0, x0, y1, x1) with
    y1 − y0 = ``height`` and x1 − x0 = ``width``. Returns (n, C, height, width) on
    the images' device. The indices are worked out on the host and gathered in one
    indexing operation, so nothing but the crops is made on the device.
    """
    samples, boxes = np.asarray(samples, dtype=np.int64), np.asarray(boxes, dtype=np.int64)
    image_h, image_w = images.shape[2], images.shape[3]
    rows = boxes[:, 0:1] + np.arange(height)
    cols = boxes[:, 1:2] + np.arange(width)
    inside = (((rows >= 0) & (rows < image_h))[:, :, None]
              & ((cols >= 0) & (cols < image_w))[:, None, :])
    index = torch.from_numpy(np.concatenate(
        [samples[:, None], rows.clip(0, image_h - 1), cols.clip(0, image_w - 1)], axis=1,
    )).to(images.device, non_blocking=True)
    picked = images[index[:, 0:1, None], :, index[:, 1:1 + height, None],
                    index[:, None, 1 + height:]]  # (n, height, width, C)
    if not inside.all():
        picked = torch.where(torch.from_numpy(inside[..., None]).to(images.device), picked, 0)
    return picked.permute(0, 3, 1, 2)


def patch_grid_image(top: TopPatches, max_channels: int = 32, scale: str = "patch",
                     labels: bool = True) -> np.ndarray:
    """One row per channel (the first ``max_channels``) of its k patches, (H, W, 3) uint8.

    Patches are enlarged by an integer factor (nearest neighbour) to at least
    ``MIN_PATCH_PIXELS`` a side, with ``GAP_PIXELS`` between and around them; stored
    patches are at most STORED_PIXELS a side, so the image stays a screen or two. With
    ``labels`` a column on the left names each row's channel and its top activation.
    ``scale`` is as in :func:`scaled_patches`.
    """
    patches = scaled_patches(top, scale)
    channels, k, depth, ph, pw = patches.shape
    channels = min(channels, max_channels)
    factor = max(1, math.ceil(MIN_PATCH_PIXELS / max(1, min(ph, pw))))
    tile_h, tile_w = ph * factor, pw * factor
    left = LABEL_PIXELS if labels else 0
    image = np.empty((channels * (tile_h + GAP_PIXELS) + GAP_PIXELS,
                      left + k * (tile_w + GAP_PIXELS) + GAP_PIXELS, 3), dtype=np.uint8)
    image[:] = BACKGROUND
    if channels == 0 or k == 0:
        return image
    tiles = patches[:channels]
    if depth == 1:
        tiles = np.repeat(tiles, 3, axis=2)
    tiles = tiles.transpose(0, 1, 3, 4, 2).repeat(factor, axis=2).repeat(factor, axis=3)
    for channel in range(channels):
        y = GAP_PIXELS + channel * (tile_h + GAP_PIXELS)
        for rank in range(k):
            x = left + GAP_PIXELS + rank * (tile_w + GAP_PIXELS)
            image[y:y + tile_h, x:x + tile_w] = tiles[channel, rank]
    if labels:
        _draw_labels(image, top, channels, tile_h)
    return image


def _draw_labels(image: np.ndarray, top: TopPatches, channels: int, tile_h: int) -> None:
    """Write "ch N" and the channel's top activation left of each row, in place."""
    from PIL import Image, ImageDraw, ImageFont

    size = max(8, min(12, (tile_h - 2) // 2))
    font = ImageFont.load_default(size=size)
    column = Image.fromarray(np.ascontiguousarray(image[:, :LABEL_PIXELS]))
    draw = ImageDraw.Draw(column)
    for channel in range(channels):
        y = GAP_PIXELS + channel * (tile_h + GAP_PIXELS)
        lines = [f"ch {channel}", f"{float(top.values[channel, 0]):#.3g}"]
        if tile_h < 2 * size + 2:
            lines = [f"{channel}: {lines[1]}"]
        draw.multiline_text((3, y), "\n".join(lines), fill=LABEL_COLOR, font=font, spacing=1)
    image[:, :LABEL_PIXELS] = np.asarray(column)


def save_png(image: np.ndarray, path: str | os.PathLike[str]) -> None:
    """Write a uint8 (H, W), (H, W, 3) or (H, W, 4) image as PNG, atomically.

    The bytes go to a temporary file beside ``path`` which then replaces it, so a
    reader (the GUI polling a run folder) never sees half a file. An existing
    file's permissions are kept; a new one gets the usual umask.
    """
    from PIL import Image

    array = np.asarray(image)
    if array.dtype != np.uint8 or not (array.ndim == 2 or (array.ndim == 3
                                                           and array.shape[2] in (3, 4))):
        raise ValueError(f"save_png needs uint8 (H, W), (H, W, 3) or (H, W, 4), "
                         f"got {array.dtype} {array.shape}")
    picture = Image.fromarray(np.ascontiguousarray(array))
    write_atomic(path, lambda stream: picture.save(stream, format="PNG"))
