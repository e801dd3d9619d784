"""Runs launched by ``torchrun``: one process per device, torch.distributed underneath.

torchrun sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` and the rendezvous variables;
without them everything here is a no-op and a run is one ordinary process. Training
wraps the model in :class:`~torch.nn.parallel.DistributedDataParallel` (NCCL on
GPUs, gloo on CPUs); evaluation shards a manifest and gathers the transcripts.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class Process:
    """Where this process stands in a torchrun job (rank 0 of 1 when run alone)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        """Rank 0 alone writes checkpoints, logs, reports and progress bars."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world > 1


def from_env() -> Process:
    """The torchrun environment of this process."""
    return Process(int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)),
                   int(os.environ.get("LOCAL_RANK", 0)))


def start(device: str = "auto") -> tuple[Process, "torch.device"]:
    """Join the torchrun job (if any) and pick this process's device: ``auto`` is
    ``cuda:LOCAL_RANK`` when GPUs are there, else the CPU. The process group uses
    NCCL on CUDA and gloo on the CPU."""
    import torch
    import torch.distributed as dist

    from .runtime.torch_backend import pick_device

    proc = from_env()
    device = pick_device(device)
    if device.type == "cuda" and device.index is None:  # one GPU per process on a node
        device = torch.device("cuda", proc.local_rank)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if proc.distributed and not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return proc, device


def stop() -> None:
    """Leave the process group, if this process joined one (imports no torch otherwise)."""
    dist = sys.modules.get("torch.distributed")
    if dist is not None and dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def end_process(code: int) -> NoReturn:
    """Exit a torchrun process now, as multiprocessing's children do (``os._exit``, after
    flushing), skipping the interpreter's shutdown.

    Why: a DistributedDataParallel model keeps its gloo group alive past
    ``destroy_process_group`` (torch 2.13: the group's worker threads outlive the model), and a
    worker that frees a tensor of ``all_gather_object`` after the interpreter began to shut
    down aborts the process ("terminate called without an active exception"): a finished
    training run that torchrun reports as failed (1 two-process run in 47 on 2 cores). Everything
    this package writes is closed (and checkpoints renamed into place) before this point."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except OSError:  # a closed pipe: nothing more can reach the reader
            pass
    os._exit(code)


def gather(obj, proc: Process) -> list:
    """``[obj of rank 0, obj of rank 1, ...]`` on every rank (any picklable object)."""
    if not proc.distributed:
        return [obj]
    import torch.distributed as dist

    out = [None] * proc.world
    dist.all_gather_object(out, obj)
    return out


def shard(items: list, proc: Process) -> list:
    """This rank's share of ``items``: every ``world``-th one from ``rank`` on."""
    return items[proc.rank :: proc.world]
