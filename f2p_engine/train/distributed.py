"""Training over several processes: torch DistributedDataParallel under `torchrun`, gloo on CPU.

`torchrun --nproc_per_node=N -m f2p_engine train ...` starts N copies of `f2p train`; each reads
its rank from the environment (`init_from_environment`). Every rank draws the same shuffled
order (same seed), takes the same global batches of `batch_size` samples and trains on its own
slice of each (`RankBatches`); DDP averages the gradients, so one optimiser step sees the whole
global batch as in a single process. Differences from one process: BatchNorm normalises each
rank's slice with that slice's statistics, dropout draws differ, float sums run in another order.
Only rank 0 writes (checkpoints, logs, ONNX exports, the manifest); every rank reads.
"""

from __future__ import annotations

import datetime
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.utils.data import Sampler

from f2p_engine.errors import F2PError, InputError


@dataclass(frozen=True, slots=True, kw_only=True)
class Ranks:
    """This process's place among the training processes (rank 0 of 1: a single process)."""

    rank: int = 0
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        """Whether this process writes the outputs."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


SINGLE = Ranks()


#: Seconds rank 0 waits for the other processes to join before it gives up (`f2p train --rendezvous`).
RENDEZVOUS_SECONDS = 600.0


def environment_ranks() -> Ranks:
    """This process's rank and the process count as `torchrun` sets them (RANK, WORLD_SIZE; with
    MASTER_ADDR and MASTER_PORT for several), checked: InputError naming the variable when one is
    missing or malformed. `SINGLE` without WORLD_SIZE or with 1."""
    world_size = _whole(os.environ.get("WORLD_SIZE", "1"), "WORLD_SIZE", "a process count")
    if world_size < 1:
        raise InputError(f"WORLD_SIZE={world_size}: must be at least 1")
    if world_size == 1:
        return SINGLE
    where = f"WORLD_SIZE={world_size} (more than one training process, as torchrun starts them)"
    missing = [name for name in ("RANK", "MASTER_ADDR", "MASTER_PORT") if not os.environ.get(name)]
    if missing:
        raise InputError(f"{where} needs {', '.join(missing)} too; start the processes with torchrun")
    rank = _whole(os.environ["RANK"], "RANK", "a process rank")
    if not 0 <= rank < world_size:
        raise InputError(f"RANK={rank}: must be from 0 to {world_size - 1} with WORLD_SIZE={world_size}")
    port = _whole(os.environ["MASTER_PORT"], "MASTER_PORT", "a port")
    if not 0 < port < 65536:
        raise InputError(f"MASTER_PORT={port}: not a port (1 to 65535)")
    return Ranks(rank=rank, world_size=world_size)


def _whole(text: str, name: str, what: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise InputError(f"{name}={text[:40]!r}: not {what}") from None


def init_from_environment(rendezvous_seconds: float = RENDEZVOUS_SECONDS) -> Ranks:
    """Join the process group `torchrun` set up (`environment_ranks`), gloo backend; `SINGLE` when
    not started by torchrun (or with one process).

    The rendezvous runs in a helper thread so that this one stays interruptible (Ctrl-C, SIGTERM)
    and gives up after `rendezvous_seconds` with an F2PError (a lone rank 0 would otherwise wait for
    its partners as long as the process group's timeout, hours)."""
    ranks = environment_ranks()
    if not ranks.distributed:
        return SINGLE
    if torch.distributed.is_initialized():
        return Ranks(rank=torch.distributed.get_rank(), world_size=torch.distributed.get_world_size())
    failure: list[BaseException] = []

    def join() -> None:
        try:
            # Other ranks wait at `finish` while rank 0 alone fits the identity member and exports (an
            # hour with descriptors to compute): far past gloo's default 30 minutes.
            torch.distributed.init_process_group("gloo", rank=ranks.rank, world_size=ranks.world_size,
                                                 timeout=datetime.timedelta(hours=12))
        except BaseException as exc:  # handed to the waiting thread, which reports it
            failure.append(exc)

    joining = threading.Thread(target=join, name="rendezvous", daemon=True)
    joining.start()
    deadline = time.monotonic() + rendezvous_seconds
    while joining.is_alive() and time.monotonic() < deadline:
        joining.join(0.2)  # short waits: a signal handler runs between them
    where = f"{os.environ['MASTER_ADDR']}:{os.environ['MASTER_PORT']}"
    if joining.is_alive():
        raise F2PError(f"rank {ranks.rank} of {ranks.world_size}: the other training processes did not join at "
                       f"{where} within {rendezvous_seconds:g} s")
    if failure:
        first = (str(failure[0]).strip().splitlines() or [type(failure[0]).__name__])[0]
        raise F2PError(f"rank {ranks.rank} of {ranks.world_size}: cannot join the training processes at {where} "
                       f"({first})")
    return Ranks(rank=torch.distributed.get_rank(), world_size=torch.distributed.get_world_size())


def finish(ranks: Ranks) -> None:
    """Wait for every rank, then leave the process group (no-op for a single process)."""
    if ranks.distributed and torch.distributed.is_initialized():
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()


class RankBatches(Sampler[list[int]]):
    """Batches of dataset indices for one rank: the global batches of `batch_size` from a shuffled
    (seeded) or sequential order, each split into `world_size` near-equal slices; this rank's slice.

    Global batches too small to give every rank a sample are dropped (on every rank alike), so no
    rank waits for a gradient another never computes.
    """

    def __init__(self, count: int, batch_size: int, *, shuffle: bool, seed: int, ranks: Ranks = SINGLE) -> None:
        self.count, self.batch_size, self.shuffle, self.seed, self.ranks = count, batch_size, shuffle, seed, ranks

    def _global_batches(self) -> list[np.ndarray]:
        order = (torch.randperm(self.count, generator=torch.Generator().manual_seed(self.seed)).numpy()
                 if self.shuffle else np.arange(self.count))
        batches = [order[i:i + self.batch_size] for i in range(0, self.count, self.batch_size)]
        return [b for b in batches if len(b) >= self.ranks.world_size]

    def __iter__(self) -> Iterator[list[int]]:
        for batch in self._global_batches():
            yield np.array_split(batch, self.ranks.world_size)[self.ranks.rank].tolist()

    def __len__(self) -> int:
        return len(self._global_batches())


def wrap(module: nn.Module, ranks: Ranks) -> nn.Module:
    """`module` in DistributedDataParallel when training over several processes, else itself."""
    if not ranks.distributed:
        return module
    return nn.parallel.DistributedDataParallel(module)


def average_gradients(module: nn.Module, ranks: Ranks) -> None:
    """Average the gradients of a module DDP does not wrap (the loss's adaptive term weights) over ranks."""
    if not ranks.distributed:
        return
    for parameter in module.parameters():
        if parameter.grad is not None:
            torch.distributed.all_reduce(parameter.grad)
            parameter.grad /= ranks.world_size


def sum_over_ranks(*values: float, ranks: Ranks) -> list[float]:
    """Each value summed over every rank (for epoch totals of the log)."""
    if not ranks.distributed:
        return list(values)
    tensor = torch.tensor(values, dtype=torch.float64)
    torch.distributed.all_reduce(tensor)
    return tensor.tolist()
