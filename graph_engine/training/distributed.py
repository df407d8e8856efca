"""Data-parallel training under torchrun: one process per device, gradients averaged by DDP.

``torchrun --nproc_per_node=N -m app train FILE`` starts N copies of the command and tells
each its place through the environment (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR,
MASTER_PORT). :func:`from_environment` reads it and returns the object the trainer asks
for its device, its shard of each epoch and the few agreements that keep the ranks in
step. Outside torchrun the same calls are no-ops (:class:`Distributed`), so the loop has
one shape either way.

The ranks must take the same decisions at the same step, or one would wait forever in a
collective; so they agree:

- at the start of each log group: stop when any rank was asked to stop;
- at each log group's flush: the losses are averaged over the ranks, so a non-finite loss
  on one rank is non-finite on all and every rank fails at the same step;
- at each epoch's end: rank 0 measures the whole validation set and shares the metrics and
  whether a checkpoint is due, so early stopping and the NaN check decide alike.

Only rank 0 writes the run folder, emits events and runs the probes.
"""

from __future__ import annotations

import math
import os
from typing import Any, Callable, Mapping, TypeVar

import torch
from torch import nn

from graph_engine.compiler import resolve_device

T = TypeVar("T")


class DistributedError(ValueError):
    """The process group cannot start here (device, backend, rendezvous); ``str()`` is one line."""


class RankZeroFailure(ValueError):
    """Rank 0 failed before training (e.g. its run folder); raised on the other ranks so none
    trains alone. Rank 0 has said why, so the others need not repeat it."""


class Distributed:
    """One process and no process group: every method is a no-op or the identity."""

    rank = 0
    world_size = 1
    local_rank = 0
    backend: str | None = None

    @property
    def enabled(self) -> bool:
        return False

    @property
    def is_main(self) -> bool:
        """Rank 0: the one that writes the run folder, emits events and probes."""
        return self.rank == 0

    def start(self, device_setting: str) -> torch.device:
        """The training device for a settings value (and, under torchrun, join the group)."""
        return resolve_device(device_setting)

    def seed(self, seed: int) -> None:
        """Give each rank its own random stream after the shared initial weights."""

    def wrap(self, model: nn.Module) -> nn.Module:
        """The module the training step calls (DDP's wrapper under torchrun)."""
        return model

    def shard_size(self, samples: int) -> int:
        """Samples this rank takes per epoch."""
        return samples

    def shard(self, order: torch.Tensor) -> torch.Tensor:
        """This rank's part of an epoch's sample order."""
        return order

    def stop_agreed(self, wanted: bool, at_group_start: bool) -> bool:
        """Whether to stop now, given this rank's wish."""
        return wanted

    def mean(self, values: torch.Tensor) -> torch.Tensor:
        """The mean of ``values`` over the ranks."""
        return values

    def share(self, value: T) -> T:
        """Rank 0's ``value``, on every rank."""
        return value

    def on_main(self, action: Callable[[], None]) -> None:
        """Run ``action`` on rank 0 only; when it raises there, every rank raises."""
        action()

    def close(self) -> None:
        """Leave the process group (when this object joined it)."""


class ProcessGroup(Distributed):
    """One rank of a torchrun job: NCCL on CUDA devices, gloo on CPUs."""

    def __init__(self, rank: int, world_size: int, local_rank: int,
                 environ: Mapping[str, str] | None = None):
        if not 0 <= rank < world_size:
            raise DistributedError(f"RANK {rank} is outside WORLD_SIZE {world_size}")
        self.rank, self.world_size, self.local_rank = rank, world_size, local_rank
        self.device: torch.device | None = None
        self._environ = dict(os.environ if environ is None else environ)
        self._joined = False
        self._stop_wanted = False

    @property
    def enabled(self) -> bool:
        return True

    def __repr__(self) -> str:
        return f"ProcessGroup(rank={self.rank}, world_size={self.world_size}, local_rank={self.local_rank})"

    def device_for(self, device_setting: str) -> torch.device:
        """This rank's device: ``cuda:LOCAL_RANK`` when CUDA is wanted (or "auto" finds it)."""
        if device_setting == "mps":
            raise DistributedError("data-parallel training runs on CUDA GPUs (NCCL) or CPUs (gloo), "
                                   "not on Apple MPS; use --device cpu")
        if device_setting == "cpu" or (device_setting == "auto" and not torch.cuda.is_available()):
            return torch.device("cpu")
        if not torch.cuda.is_available():
            raise DistributedError("device cuda asks for the NCCL backend, but CUDA is not available "
                                   "on this machine; use --device cpu to train with gloo")
        count = torch.cuda.device_count()
        if self.local_rank >= count:
            raise DistributedError(f"local rank {self.local_rank} has no GPU: this machine shows {count}; "
                                   f"start at most --nproc_per_node={count} processes here")
        return torch.device("cuda", self.local_rank)

    def start(self, device_setting: str) -> torch.device:
        from torch import distributed as dist

        device = self.device_for(device_setting)
        backend = "nccl" if device.type == "cuda" else "gloo"
        if not dist.is_available():
            raise DistributedError("this torch build has no torch.distributed; train in one process")
        if backend == "nccl" and not dist.is_nccl_available():
            raise DistributedError("this torch build has no NCCL backend for CUDA; use --device cpu "
                                   "to train with gloo")
        if backend == "gloo" and not dist.is_gloo_available():
            raise DistributedError("this torch build has no gloo backend for CPUs; train in one process")
        if device.type == "cuda":
            torch.cuda.set_device(device)
        if dist.is_initialized():  # a caller's own group (a script that set it up itself)
            backend = dist.get_backend()
        else:
            where = f"{self._environ.get('MASTER_ADDR', '?')}:{self._environ.get('MASTER_PORT', '?')}"
            try:
                dist.init_process_group(backend, rank=self.rank, world_size=self.world_size)
            except (RuntimeError, ValueError) as error:
                text = " ".join(str(error).split()) or type(error).__name__
                raise DistributedError(f"rank {self.rank} of {self.world_size} could not join the "
                                       f"{backend} process group at {where}: {text}") from None
            self._joined = True
        self.device, self.backend = device, backend
        return device

    def seed(self, seed: int) -> None:
        # every rank built the same weights from the same seed; dropout and other noise
        # should differ between ranks, as their data does (rank 0 keeps the one-process stream)
        if self.rank:
            torch.manual_seed(seed + 1_000_003 * self.rank)

    def wrap(self, model: nn.Module) -> nn.Module:
        from torch.nn.parallel import DistributedDataParallel

        ids = [self.device.index] if self.device is not None and self.device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=ids)

    def shard_size(self, samples: int) -> int:
        return math.ceil(samples / self.world_size)

    def shard(self, order: torch.Tensor) -> torch.Tensor:
        """As ``DistributedSampler``: pad the order by repeating its start to a multiple of
        the world size, then take every WORLD_SIZE-th sample from RANK on, so every rank
        takes the same number of steps (DDP would wait forever for a missing one)."""
        total = self.shard_size(len(order)) * self.world_size
        if total > len(order):
            order = order.repeat(math.ceil(total / len(order)))[:total]
        return order[self.rank:total:self.world_size]

    def stop_agreed(self, wanted: bool, at_group_start: bool) -> bool:
        # a wish is kept until the next group start, where one all-reduce settles it: a
        # check at every step would stall a GPU's queue as the loss read-back would
        self._stop_wanted = self._stop_wanted or wanted
        return at_group_start and self._any(self._stop_wanted)

    def _any(self, flag: bool) -> bool:
        from torch import distributed as dist

        value = torch.tensor([int(flag)], device=self.device)
        dist.all_reduce(value, op=dist.ReduceOp.MAX)
        return bool(value.item())

    def mean(self, values: torch.Tensor) -> torch.Tensor:
        from torch import distributed as dist

        total = values.detach().clone()
        dist.all_reduce(total)
        return total / self.world_size

    def share(self, value: T) -> T:
        from torch import distributed as dist

        box = [value]
        dist.broadcast_object_list(box, src=0, device=self.device)
        return box[0]

    def on_main(self, action: Callable[[], None]) -> None:
        error: BaseException | None = None
        if self.is_main:
            try:
                action()
            except (ValueError, OSError) as caught:
                error = caught
        message = self.share(None if error is None else " ".join(str(error).split()))
        if error is not None:
            raise error
        if message is not None:
            raise RankZeroFailure(message)

    def close(self) -> None:
        from torch import distributed as dist

        if self._joined and dist.is_initialized():
            try:
                dist.barrier()  # meet first: gloo aborts a rank whose peer tears the group down
            finally:
                dist.destroy_process_group()
        self._joined = False


def from_environment(environ: Mapping[str, str] | None = None) -> Distributed:
    """A :class:`ProcessGroup` when torchrun started this process with WORLD_SIZE > 1, else
    the one-process :class:`Distributed`. Nothing is joined until ``start``."""
    environ = os.environ if environ is None else environ
    try:
        world_size = int(environ.get("WORLD_SIZE") or 1)
        if world_size <= 1:
            return Distributed()
        rank = int(environ["RANK"])
        local_rank = int(environ.get("LOCAL_RANK") or rank)
    except KeyError:
        raise DistributedError("WORLD_SIZE is set but RANK is not: start data-parallel training "
                               "with torchrun") from None
    except ValueError:
        raise DistributedError(f"RANK, WORLD_SIZE and LOCAL_RANK must be integers, got "
                               f"{environ.get('RANK')!r}, {environ.get('WORLD_SIZE')!r}, "
                               f"{environ.get('LOCAL_RANK')!r}") from None
    return ProcessGroup(rank, world_size, local_rank, environ)


class NullLog:
    """Stands in for the metrics log on ranks other than 0, which write nothing."""

    def write(self, record: dict[str, Any]) -> None:
        pass

    def close(self) -> None:
        pass
