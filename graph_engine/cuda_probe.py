"""Whether a CUDA device is there, and its name, asked without loading torch where possible.

The Training panel names the device a run will use. Asking torch costs a second of the
editor's start-up (importing torch), yet on Linux a machine without NVIDIA's driver (no
``/proc/driver/nvidia`` and no ``/dev/nvidia0``) has no CUDA device for torch to find, so
the answer comes without it there. Anywhere else torch is asked.
"""

from __future__ import annotations

import os
import sys

#: where NVIDIA's Linux driver shows itself once loaded
DRIVER_PATHS = ("/proc/driver/nvidia", "/dev/nvidia0")


def cuda_device_name() -> str | None:
    """The first CUDA device's name, or None (no device, a CPU build of torch, a broken driver)."""
    if sys.platform.startswith("linux") and not any(os.path.exists(p) for p in DRIVER_PATHS):
        return None
    try:
        import torch

        return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except Exception:  # noqa: BLE001 (a broken driver must not stop the editor)
        return None


__all__ = ["DRIVER_PATHS", "cuda_device_name"]
