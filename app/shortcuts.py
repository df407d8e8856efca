"""Help → Keyboard shortcuts: the one list of the editor's keys and mouse gestures."""

from __future__ import annotations

SHORTCUTS = (
    ("New", "Ctrl+N"), ("Open…", "Ctrl+O"), ("Save", "Ctrl+S"), ("Save As…", "Ctrl+Shift+S"),
    ("Undo", "Ctrl+Z"), ("Redo", "Ctrl+Shift+Z / Ctrl+Y"), ("Copy", "Ctrl+C"), ("Paste", "Ctrl+V"),
    ("Duplicate", "Ctrl+D"), ("Make block of the selection", "Ctrl+G"), ("Select all", "Ctrl+A"),
    ("Edit a block's definition (every use follows)", "double-click the use or its frame"),
    ("Leave the block being edited", "Escape, or the breadcrumb above the canvas"),
    ("Delete", "Delete / Backspace"), ("Delete and bridge", "Shift+Delete"),
    ("Rename (an identifier renames the id)", "F2, or double-click the title"),
    ("Find a node", "Ctrl+F"), ("Add a layer at the cursor", "Tab, or start typing on the canvas"),
    ("Context menu", "right click on a node, an edge or the canvas"), ("Minimap", "M"),
    ("Connect backwards / re-route an edge", "drag from an input port"),
    ("Insert a node on an edge", "drag a free node onto the edge"),
    ("Fit view", "F"), ("Zoom 100 %", "Ctrl+0"), ("Auto-layout", "L"),
    ("Zoom", "mouse wheel (around the cursor)"), ("Pan", "middle-drag, or Space + drag"),
    ("Add selected palette type after the selected node", "Enter or double-click in the palette"),
    ("View code", "Ctrl+E"),
    ("Start training", "Ctrl+T"), ("Pause / resume training", "Ctrl+Shift+P"),
    ("Stop training", "Ctrl+."),
)


def shortcuts_html() -> str:
    """The list as an HTML table for a message box."""
    rows = "".join(f"<tr><td><b>{key}</b></td><td>&nbsp;&nbsp;{what}</td></tr>" for what, key in SHORTCUTS)
    return f"<table>{rows}</table>"
