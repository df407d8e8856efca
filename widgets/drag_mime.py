"""The drag-and-drop protocol between the layer palette and the canvas.

A palette drag carries one layer type name, UTF-8, under :data:`LAYER_MIME_TYPE`;
the canvas accepts drags that carry it and turns a drop into an intent.
"""

from __future__ import annotations

from PySide6.QtCore import QMimeData

#: MIME type of a palette drag; the payload is the layer type name in UTF-8
LAYER_MIME_TYPE = "application/x-rosenblatt-layer"


def layer_mime_data(type_name: str) -> QMimeData:
    """The mime data a palette drag carries for ``type_name``."""
    data = QMimeData()
    data.setData(LAYER_MIME_TYPE, type_name.encode("utf-8"))
    return data


def carries_layer(data: QMimeData | None) -> bool:
    """Whether a drag carries a layer type (whatever its payload)."""
    return data is not None and data.hasFormat(LAYER_MIME_TYPE)


def type_from_mime_data(data: QMimeData | None) -> str | None:
    """The layer type name a drag carries (undecodable bytes replaced, spaces stripped),
    or None when it carries none or an empty one."""
    if not carries_layer(data):
        return None
    return bytes(data.data(LAYER_MIME_TYPE).data()).decode("utf-8", "replace").strip() or None


#: separates a block's name from its library file in a palette payload: ``Basic@/path/lib.json``
LIBRARY_SEPARATOR = "@"


def library_ref(path: str, name: str) -> str:
    """The payload of a block from a library file (dropping it imports the block)."""
    return f"{name}{LIBRARY_SEPARATOR}{path}"


def parse_library_ref(payload: str) -> tuple[str, str] | None:
    """``(path, block name)`` for a library payload; None for a layer or block name."""
    name, separator, path = payload.partition(LIBRARY_SEPARATOR)
    return (path, name) if separator and path else None


def shown_name(payload: str) -> str:
    """What a palette row says for a payload: the block's or layer's name."""
    return payload.partition(LIBRARY_SEPARATOR)[0]
