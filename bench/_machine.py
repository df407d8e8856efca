"""Shared helper for the bench scripts: describe the machine a benchmark ran on."""

from __future__ import annotations

import os
import platform


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def machine_lines(device: str | None = None) -> list[str]:
    """Lines naming the CPU, cores, Python, torch and (optionally) the device used."""
    import torch

    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    lines = [
        f"machine : {platform.node()} / {platform.system()} {platform.release()}",
        f"cpu     : {cpu_model()} ({os.cpu_count()} logical cores, {usable} usable, "
        f"torch threads {torch.get_num_threads()})",
        f"python  : {platform.python_version()}   torch {torch.__version__}",
    ]
    if torch.cuda.is_available():
        lines.append(f"cuda    : {torch.cuda.get_device_name(0)} (CUDA {torch.version.cuda})")
    else:
        lines.append("cuda    : not available")
    if device is not None:
        lines.append(f"device  : {device}")
    return lines
