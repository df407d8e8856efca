"""How much memory a network needs, estimated from its analysis before anything is allocated.

A Linear of 10⁶×10⁶ or an Input of 3×100000×100000 validates, but building it (or a
batch for it) would take terabytes: the process dies in the allocator with a traceback,
or the machine swaps. The estimate lets ``summary`` and the editor warn, and lets
compiling, exporting and training refuse in one line what cannot fit.

float32 throughout (4 bytes a value). Parameters count once for inference; training
keeps a gradient and up to two optimizer moments beside each (Adam), and the forward
pass keeps every activation for the backward pass.
"""

from __future__ import annotations

from dataclasses import dataclass

from graph_engine.errors import CompileError

BYTES_PER_VALUE = 4
#: parameters + gradient + two Adam moments
TRAINING_COPIES = 4
#: analysis warns above these (the machine may still manage, slowly)
WARN_PARAMETER_BYTES = 2 * 1024 ** 3
WARN_SAMPLE_BYTES = 256 * 1024 ** 2


class TooLarge(CompileError):
    """The network (or a batch through it) cannot fit in this machine's memory."""


@dataclass(frozen=True)
class MemoryEstimate:
    parameter_bytes: int
    #: every node's outputs for one sample (what a forward pass holds for backward)
    sample_bytes: int

    def inference_bytes(self, batch: int) -> int:
        return self.parameter_bytes + batch * self.sample_bytes

    def training_bytes(self, batch: int) -> int:
        return TRAINING_COPIES * self.parameter_bytes + 2 * batch * self.sample_bytes


def estimate(analysis) -> MemoryEstimate:
    """From an :class:`~graph_engine.analysis.Analysis` (nodes with unknown shapes count 0)."""
    sums = analysis.sums
    return MemoryEstimate(sums.params * BYTES_PER_VALUE, sums.values * BYTES_PER_VALUE)


def size_text(count: int) -> str:
    """``3.2 GiB``: bytes for a person."""
    for unit, scale in (("TiB", 1024 ** 4), ("GiB", 1024 ** 3), ("MiB", 1024 ** 2), ("KiB", 1024)):
        if count >= scale:
            return f"{count / scale:.3g} {unit}"
    return f"{count} B"


def available_bytes() -> int | None:
    """Memory the system can give now (MemAvailable), less where the process's address space
    is capped (``ulimit -v``, RLIMIT_AS): past the cap an allocation fails however much the
    machine has. None where neither can be read."""
    physical = None
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    physical = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        pass  # unknown (free pages alone would leave out the page cache): refuse nothing
    capped = _address_space_left()
    if capped is None:
        return physical
    return capped if physical is None else min(physical, capped)


def _address_space_left() -> int | None:
    """Bytes of address space this process may still map under RLIMIT_AS, or None (no cap)."""
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft == resource.RLIM_INFINITY:
            return None
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return max(0, soft - int(line.split()[1]) * 1024)
    except (ImportError, OSError, ValueError, IndexError):
        pass
    return None


def check_fits(needed: int, what: str, available: int | None = None) -> None:
    """Raise TooLarge (one line) when ``needed`` bytes exceed what the machine has."""
    available = available_bytes() if available is None else available
    if available is not None and needed > available:
        raise TooLarge(f"{what} needs about {size_text(needed)} of memory; this machine has "
                       f"{size_text(available)} available")


def warnings_for(found: MemoryEstimate) -> list[str]:
    """Advice for ``summary`` and the editor: sizes past which most machines struggle."""
    advice = []
    if found.parameter_bytes > WARN_PARAMETER_BYTES:
        advice.append(f"the parameters take {size_text(found.parameter_bytes)} (float32); training "
                      f"needs about {size_text(TRAINING_COPIES * found.parameter_bytes)}")
    if found.sample_bytes > WARN_SAMPLE_BYTES:
        advice.append(f"one sample's activations take {size_text(found.sample_bytes)}; a batch of 32 "
                      f"needs about {size_text(32 * found.sample_bytes)}")
    return advice


__all__ = ["MemoryEstimate", "TooLarge", "estimate", "check_fits", "available_bytes", "size_text",
           "warnings_for"]
