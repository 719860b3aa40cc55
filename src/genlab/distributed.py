"""Devices, and training in several processes launched by ``torchrun``.

``torchrun --nproc_per_node=N -m genlab train ...`` starts N copies of genlab, each told its
place by the environment (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``/``PORT``).
genlab then trains data-parallel with ``torch.distributed``, the way stylegan2-ada's training
loop does (Karras et al. 2020, "Training Generative Adversarial Networks with Limited Data"):

- every process holds the whole model, starting from the same weights;
- each draws its own ``batch_size / N`` examples (and noise) from its own random stream, so
  the global batch is ``batch_size`` and the learning rate means what it means on one process;
- after each phase's backward pass the gradients of that phase's optimiser are summed over
  the processes in one flat ``all_reduce`` and divided by N, so every process takes the same
  optimiser step and the weights (EMA included) stay identical. GANs and the other models
  with several phases update different networks in turn, which is why the averaging is per
  phase rather than through one ``DistributedDataParallel`` wrapper around one forward pass;
- batch norm computes its statistics over the global batch (``SyncBatchNorm`` on CUDA, the
  same computation written with differentiable ``all_reduce`` on the CPU, where torch's
  ``SyncBatchNorm`` does not run);
- only rank 0 writes files.

The backend is ``nccl`` on CUDA and ``gloo`` on the CPU.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from .config import check
from .errors import ConfigError

DEVICES = "auto, cpu, cuda, cuda:N or mps"


def resolve_device(name: str) -> torch.device:
    """A torch device from genlab's ``device`` setting, or a one-line ConfigError: ``auto``
    is CUDA when present (this process's GPU under torchrun), else the CPU."""
    if name == "auto":
        if not torch.cuda.is_available():
            return torch.device("cpu")
        return torch.device("cuda", local_rank() % torch.cuda.device_count())
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        raise ConfigError(f"device {name!r} is not a device; use {DEVICES}") from None
    if device.type == "cuda":
        check(torch.cuda.is_available(), f"device {name!r} asked for, but torch sees no CUDA GPU here "
                                         f"(torch {torch.__version__}, CUDA build: {torch.version.cuda or 'no'})")
        count = torch.cuda.device_count()
        check(device.index is None or device.index < count,
              f"device {name!r} asked for, but this machine has {count} CUDA GPU{'s' * (count != 1)} "
              f"(cuda:0{f' .. cuda:{count - 1}' if count > 1 else ''})")
        if device.index is None:
            device = torch.device("cuda", local_rank() % count)
    elif device.type == "mps":
        check(torch.backends.mps.is_available(), f"device {name!r} asked for, but Apple's MPS is not available here")
    elif device.type != "cpu":
        raise ConfigError(f"device {name!r} is not one genlab trains on; use {DEVICES}")
    return device


def local_rank() -> int:
    return int(os.environ.get("LOCAL_RANK", 0))


@dataclass(frozen=True)
class World:
    """This process's place among those training together (one process: rank 0 of 1)."""

    rank: int = 0
    size: int = 1

    @property
    def writes(self) -> bool:
        """Only rank 0 writes the run directory, logs, samples and checkpoints."""
        return self.rank == 0


def launched() -> bool:
    """Started by torchrun (or another launcher setting ``WORLD_SIZE``) with several processes."""
    return int(os.environ.get("WORLD_SIZE", 1)) > 1


def join(device: torch.device) -> World:
    """This process's World, joining the process group on first use when launched by torchrun."""
    if not launched():
        return World()
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group(backend)
    return World(dist.get_rank(), dist.get_world_size())


def leave() -> None:
    """Leave the process group together, once training has ended well on every rank: a rank
    that tears it down while another still talks to it can abort at exit (seen about one run
    in eight with gloo)."""
    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def broadcast_object(value, world: World):
    """Rank 0's ``value`` on every rank (e.g. the run directory rank 0 chose)."""
    if world.size == 1:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def broadcast_state(module: nn.Module, world: World) -> None:
    """Every rank starts from rank 0's weights and buffers."""
    if world.size == 1:
        return
    for tensor in module.state_dict().values():
        dist.broadcast(tensor, src=0)


def average_gradients(optimizer: torch.optim.Optimizer, world: World) -> None:
    """Replace each gradient by its mean over the ranks, in one flat all_reduce.

    A phase uses the same networks on every rank, so the parameters that got a gradient are
    the same everywhere; one without (zeros in the sum) keeps none, and the optimiser skips
    it as on one process. Nothing is read back to the host, so a GPU never waits here.
    """
    if world.size == 1:
        return
    params = [p for group in optimizer.param_groups for p in group["params"]]
    flat = torch.cat([p.grad.reshape(-1) if p.grad is not None else p.new_zeros(p.numel()) for p in params])
    dist.all_reduce(flat)
    for p, grad in zip(params, flat.split([p.numel() for p in params])):
        if p.grad is not None:
            p.grad = (grad / world.size).view_as(p).to(p.dtype)


def mean_over_ranks(values: torch.Tensor, world: World) -> torch.Tensor:
    """The mean over the ranks of a tensor of logged figures."""
    if world.size == 1:
        return values
    values = values.clone()
    dist.all_reduce(values)
    return values / world.size


def gather_rng(world: World, device: torch.device) -> list[dict]:
    """Every rank's random number generator states, rank by rank (for a checkpoint)."""
    mine = {"cpu": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state(device) if device.type == "cuda" else None}
    if world.size == 1:
        return [mine]
    everyone = [None] * world.size
    dist.all_gather_object(everyone, mine)
    return everyone


def digests(module: nn.Module, world: World) -> list[str]:
    """A sha256 of the weights and buffers of every rank: all equal when the ranks agree."""
    import hashlib

    digest = hashlib.sha256()
    for key, value in sorted(module.state_dict().items()):
        digest.update(key.encode())
        digest.update(value.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    if world.size == 1:
        return [digest.hexdigest()]
    everyone = [None] * world.size
    dist.all_gather_object(everyone, digest.hexdigest())
    return everyone


class SumOverRanks(torch.autograd.Function):
    """y = the sum over the ranks of x, differentiably: every rank's loss depends on y, so the
    gradient reaching each rank's x is the sum over the ranks of dL_r/dy."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        y = x.clone()
        dist.all_reduce(y)
        return y

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.clone()
        dist.all_reduce(grad)
        return grad


class GlobalBatchNorm(nn.modules.batchnorm._BatchNorm):
    """Batch norm over the global batch on any device: the per-channel sums of x and x^2 are
    summed over the ranks by a differentiable all_reduce, so gradients flow through the global
    statistics as they do through one process's. Outside training, or alone, plain batch norm."""

    def _check_input_dim(self, x: torch.Tensor) -> None:
        if x.dim() < 2:
            raise ValueError(f"expected at least 2-D input, got {x.dim()}-D")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and dist.is_initialized() and dist.get_world_size() > 1):
            return super().forward(x)
        dims, dtype = [0, *range(2, x.dim())], x.dtype
        x = x.float()  # the moments in fp32 under mixed precision too
        count = x.numel() // x.shape[1] * dist.get_world_size()  # every rank holds an equal share
        sums = SumOverRanks.apply(torch.stack([x.sum(dims), x.square().sum(dims)]))
        mean = sums[0] / count
        var = (sums[1] / count - mean.square()).clamp_min(0)
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                momentum = self.momentum if self.momentum is not None else 1 / float(self.num_batches_tracked)
                self.running_mean.lerp_(mean, momentum)
                self.running_var.lerp_(var * count / max(count - 1, 1), momentum)
        shape = (1, -1, *[1] * (x.dim() - 2))
        y = (x - mean.view(shape)) * torch.rsqrt(var.view(shape) + self.eps)
        return (y * self.weight.view(shape) + self.bias.view(shape) if self.affine else y).to(dtype)


def global_batch_norm(module: nn.Module, device: torch.device) -> nn.Module:
    """``module`` with every batch norm computing over the global batch (in place where it can)."""
    if device.type == "cuda":
        return nn.SyncBatchNorm.convert_sync_batchnorm(module)
    for name, child in module.named_children():
        if isinstance(child, nn.modules.batchnorm._BatchNorm) and not isinstance(child, GlobalBatchNorm):
            replacement = GlobalBatchNorm(child.num_features, child.eps, child.momentum, child.affine,
                                          child.track_running_stats, device=device)
            replacement.load_state_dict(child.state_dict())
            if child.affine:  # the same parameter objects, so the optimisers built on them still hold them
                replacement.weight, replacement.bias = child.weight, child.bias
            setattr(module, name, replacement)
        else:
            global_batch_norm(child, device)
    return module
