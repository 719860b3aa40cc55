"""One trainer for every model trained by stochastic gradient descent.

The trainer knows nothing about the model it trains (minGPT's trainer is the model for
this): a model lists its optimisers and its *phases* (``genlab.models.base``) — one
optimisation step each, such as "discriminator" then "generator" for a GAN, as in
stylegan2-ada — and the trainer runs them in order on batches drawn from data held in memory
on the device, handing each the :class:`TrainState` (step, total, progress) and setting the
learning rates the model's schedule asks for. Launched by torchrun it trains data-parallel
(``genlab.distributed``): each process a part of the batch, gradients averaged. It logs (to
``metrics.jsonl``, and with ``tensorboard=true`` for TensorBoard too), draws sample pictures, and
writes atomic checkpoints that hold everything needed to continue the run bit for bit: weights,
optimiser states, step and random number generator states. At checkpoints it redraws
``curves.png`` from the log (at most once a minute), so that an interrupted run has its curves.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
import time
import zipfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Literal

import torch

from . import distributed
from .config import check, check_positive, to_dict
from .data.stores import FileStore, StoreImages
from .distributed import resolve_device
from .errors import CheckpointError, ConfigError, DataError, TrainingDiverged
from .io import atomic_write, load_state

CHECKPOINT = "checkpoint.pt"
METRICS = "metrics.jsonl"
CURVES = "curves.png"
CURVES_EVERY_S = 60  # a checkpoint redraws curves.png once this long has passed since the start or the last drawing
TENSORBOARD = "tensorboard"  # the folder of TensorBoard's event files in a run directory
PRECISIONS = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}

@dataclass(frozen=True)
class TrainState:
    """Where training stands when a phase runs (``step`` counts from 1 to ``total``); the
    trainer hands it to every phase's loss and to the model's learning-rate schedule."""

    step: int
    total: int

    @property
    def progress(self) -> float:
        """0 at the first step, 1 at the last: the argument of every schedule."""
        return 1.0 if self.total <= 1 else min(1.0, (self.step - 1) / (self.total - 1))


@dataclass
class TrainConfig:
    steps: int = 2000
    batch_size: int = 128
    seed: int = 0
    log_every: int = 100
    sample_every: int = 500
    checkpoint_every: int = 500
    device: str = "auto"  # auto (CUDA when present), cpu, cuda, cuda:N or mps
    precision: Literal["fp32", "bf16", "fp16"] = "fp32"  # bf16/fp16: mixed precision (autocast); fp16 on CUDA only
    progress: bool = True
    monitor: bool = True  # log cheap quality figures every log_every steps (see genlab.runs.monitors_for)
    workers: int = 2  # DataLoader processes decoding streamed images (0: in the training process)
    compile: bool = False  # torch.compile the networks (for GPUs; the first steps wait while it compiles)
    channels_last: bool = True  # on CUDA, convolutions in the channels-last layout tensor cores prefer
    tensorboard: bool = False  # also log the figures and sample pictures for TensorBoard, in RUN_DIR/tensorboard

    def __post_init__(self):
        check_positive(self, "steps", "batch_size", "log_every", "sample_every", "checkpoint_every")
        check(self.workers >= 0, f"workers must be 0 (decode in the training process) or more, got {self.workers}")
        check(self.precision in PRECISIONS, f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if self.tensorboard:
            summary_writer()  # a missing package is found here, before a run writes any file


def summary_writer() -> type:
    """torch's TensorBoard ``SummaryWriter`` class, or a one-line ConfigError without the package."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise ConfigError("tensorboard=true needs the tensorboard package: pip install 'genlab[tensorboard]'") from None
    return SummaryWriter


def stream_seed(seed: int, purpose: str) -> int:
    """A seed for one random stream of a run, derived from the run's seed.

    Weight initialisation uses ``seed`` itself; training noise and batches use this derived
    stream. Reusing one stream for both makes the first noise draws a function of the initial
    weights, which measurably hurts GAN training on the 2-D toys.
    """
    digest = hashlib.sha256(f"{seed}:{purpose}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def rank_seed(seed: int, rank: int) -> int:
    """The seed of a process's training stream: one process (rank 0) uses the run's training
    stream; under torchrun every other rank has a stream of its own."""
    return stream_seed(seed, "train" if rank == 0 else f"train/rank {rank}")


class Trainer:
    """Runs a model's phases for ``config.steps`` iterations.

    ``run_dir`` (optional) receives ``metrics.jsonl``, ``samples/step_*.png``,
    ``checkpoint.pt``, ``curves.png`` (see :meth:`draw_curves`) and, with ``tensorboard=true``,
    ``tensorboard/``; ``monitors`` are callables ``model -> dict`` evaluated at every log
    step (for example mode coverage on the 2-D toys); ``on_sample(model, path)`` draws a picture
    (with a generator of its own, so that pictures never change the training RNG stream).
    Under torchrun only rank 0 writes; ``batch_size`` is the global batch.
    """

    def __init__(self, model, data, config: TrainConfig, run_dir: str | Path | None = None,
                 monitors: tuple[Callable[..., dict], ...] = (),
                 on_sample: Callable[..., None] | None = None):
        self.config = config
        self.device = resolve_device(config.device)
        self.world = distributed.join(self.device)
        check(config.batch_size % self.world.size == 0,
              f"batch_size {config.batch_size} is the global batch: it must divide evenly among the "
              f"{self.world.size} processes")
        # images in channels-last order on CUDA, where cuDNN's convolutions run faster so
        self.memory_format = (torch.channels_last if config.channels_last and self.device.type == "cuda"
                              and data.kind == "image" and len(data.shape) == 3 else None)
        self.model = self.place(model)
        self.hold(data)
        self.run_dir = Path(run_dir) if run_dir is not None else None
        if self.run_dir is not None and self.world.writes:
            self.run_dir.mkdir(parents=True, exist_ok=True)
        if config.tensorboard and self.run_dir is None:
            raise ConfigError("tensorboard=true logs into a run directory: train with `genlab train` or give run_dir")
        self.title = f"{model.name} on {data.name}"  # of curves.png
        self.board = None  # the TensorBoard writer, while run() runs with tensorboard=true
        self.curves_drawn = 0.0  # time.perf_counter() when curves.png was last drawn, or run() started
        self.monitors = monitors
        self.on_sample = on_sample
        self.optimizers = model.optimizers()
        self.phases = model.phases()
        self.dtype = check_precision(model, config.precision, self.device)
        # fp16 needs its gradients scaled up so that small ones do not underflow to zero;
        # one scaler per optimiser, since each network's gradients have their own range
        self.scalers = ({name: torch.amp.GradScaler(self.device.type) for name in self.optimizers}
                        if self.dtype == torch.float16 else {})
        self.step = 0
        # training time before this process, from the checkpoint it resumed: a run's time adds up
        self.spent = {"seconds": 0.0, "cpu_seconds": 0.0}
        self.last_good = 0  # step of the last checkpoint written
        self.last_log_step = 0
        self.history: dict[str, list[tuple[int, torch.Tensor]]] = defaultdict(list)
        self.last_log: dict[str, float] = {}

    def place(self, model):
        """The model on this process's device, as the configuration and the processes need it:
        global batch norm and rank 0's weights under torchrun, channels-last, compiled."""
        model = model.to(self.device)
        if self.world.size > 1:
            distributed.global_batch_norm(model, self.device)
            distributed.broadcast_state(model, self.world)
        if self.memory_format is not None:
            model.to(memory_format=self.memory_format)
        if self.config.compile:
            compile_networks(model)
        return model

    def hold(self, data) -> None:
        """The training data on the device: a tensor, or an image store (uint8 levels on the
        device, or files streamed from disk by :class:`StreamedBatches` from run() on)."""
        self.streamed = isinstance(data.x, FileStore)
        if self.streamed and data.domain is not None:
            raise DataError("stream=true reads one image folder; two domains are held in memory")
        self.stream = None
        self.labels = data.y  # on the CPU, for the streaming workers
        self.x = data.x.to(self.device)
        self.y = data.y.to(self.device) if data.y is not None else None
        # two-domain data: the indices of A and of B (see data/domains.py)
        self.domains = None if data.domain is None else [
            (data.domain == k).nonzero().squeeze(1).to(self.device) for k in (0, 1)]
        if self.domains is not None and min(map(len, self.domains)) == 0:
            raise DataError(f"{data.name} needs examples of both domains to train on; one of them is empty")

    # --- the loop -----------------------------------------------------------------------

    def run(self, resume: bool = False):
        if resume:
            self.load_checkpoint()
        else:
            torch.manual_seed(rank_seed(self.config.seed, self.world.rank))
        if self.streamed:
            self.stream = StreamedBatches(self, first_step=self.step + 1)
        self.clock = (time.perf_counter(), time.process_time())
        bar = self._progress_bar()
        self.model.train()
        self.board = self._open_board()
        self.curves_drawn = time.perf_counter()
        try:
            for self.step in range(self.step + 1, self.config.steps + 1):
                self.train_step()
                bar.update(1)
                self._boundary(bar)
        finally:
            if self.board is not None:
                self.board.close()
        bar.close()
        return self.model

    def train_step(self) -> None:
        state = TrainState(self.step, self.config.steps)
        for name, lr in self.model.learning_rates(state).items():
            for group in self.optimizers[name].param_groups:
                group["lr"] = lr
        for phase in self.phases:
            optimizer = self.optimizers[phase.optimizer]
            for _ in range(phase.repeats):
                x, y = self.batch()
                optimizer.zero_grad(set_to_none=True)
                with torch.autocast(self.device.type, dtype=self.dtype, enabled=self.dtype != torch.float32):
                    out = phase.loss(x, y, state)
                scaler = self.scalers.get(phase.optimizer)
                (out["loss"] if scaler is None else scaler.scale(out["loss"])).backward()
                distributed.average_gradients(optimizer, self.world)
                if scaler is None:
                    optimizer.step()
                else:  # unscale, skip the step if any gradient overflowed, adapt the scale
                    scaler.step(optimizer)
                    scaler.update()
                if phase.after is not None:
                    phase.after()
                for key, value in out.items():
                    self.history[f"{phase.name}_{key}" if key == "loss" else key].append((self.step, value.detach()))

    def batch(self):
        """A batch drawn uniformly with replacement from the in-memory training data (this
        process's share of the global batch under torchrun).

        For two-domain data, ``((x_a, x_b), y_a)``: ``batch_size`` examples of each domain and
        the labels of A only; B's labels, if any, are never seen in training.
        """
        size = self.config.batch_size // self.world.size
        if self.stream is not None:
            return self.stream.next()
        if self.domains is not None:
            a, b = (part[torch.randint(len(part), (size,), device=self.device)] for part in self.domains)
            return (self.x[a], self.x[b]), (self.y[a] if self.y is not None else None)
        index = torch.randint(len(self.x), (size,), device=self.device)
        x = self.x[index]
        if self.memory_format is not None:
            x = x.contiguous(memory_format=self.memory_format)
        return x, (self.y[index] if self.y is not None else None)

    def _boundary(self, bar) -> None:
        cfg, step = self.config, self.step
        final = step == cfg.steps
        if final or step % cfg.log_every == 0 or step % cfg.checkpoint_every == 0:
            self.log(bar)
        if self.run_dir is None:
            return
        if (final or step % cfg.sample_every == 0) and self.world.writes:
            self.save_samples()
        if final or step % cfg.checkpoint_every == 0:
            self.check_weights()
            self.save_checkpoint()
            if not final:  # a run draws its curves when it ends (genlab.runs.execute)
                self.draw_curves()

    # --- logging and the divergence guard -------------------------------------------------

    def log(self, bar) -> None:
        """Average what was logged since the last call (over the processes too, under
        torchrun); stop if any loss went NaN/inf."""
        record: dict[str, float] = {"step": self.step, "seconds": round(self.elapsed()["seconds"], 3)}
        bad_steps = []  # (first step with a non-finite value, key, value)
        means = []
        for key, logged in self.history.items():  # (step, value) pairs: some keys log every few steps
            stacked = torch.stack([value for _, value in logged]).float()
            bad = ~torch.isfinite(stacked)
            if bad.any():
                index = int(bad.nonzero()[0, 0])
                bad_steps.append((logged[index][0], key, stacked[index].item()))
            means.append(stacked.mean())
        if means:
            means = distributed.mean_over_ranks(torch.stack(means), self.world).tolist()
        record.update(zip(self.history, means))
        if bad_steps:  # name the loss that went first, not the first key logged
            first, key, value = min(bad_steps, key=lambda b: b[0])
            raise self.diverged(first, f"{key} is {value}")
        if not all(map(math.isfinite, means)):
            key = next(k for k, v in zip(self.history, means) if not math.isfinite(v))
            raise self.diverged(self.step, f"{key} went non-finite in another process")
        self.history.clear()
        self.last_log_step = self.step
        if not self.world.writes:
            return
        self.model.eval()
        with torch.no_grad():
            for monitor in self.monitors:
                record.update(monitor(self.model))
        self.model.train()
        self.last_log = record
        postfix = {k: f"{v:.3g}" for k, v in record.items() if isinstance(v, (int, float)) and k not in ("step", "seconds")}
        if "warning" in record:  # a monitor saw collapse: say so in the log and on the bar
            bar.write(f"{self.model.name} step {self.step}: warning: {record['warning']}")
            postfix["warning"] = record["warning"]
        bar.set_postfix(postfix, refresh=False)
        if self.run_dir is not None:
            with open(self.run_dir / METRICS, "a") as f:
                f.write(json.dumps(record) + "\n")
        if self.board is not None:
            from .plot import logged_figures

            for key, value in logged_figures(record).items():
                self.board.add_scalar(key, value, self.step)

    def check_weights(self) -> None:
        """A finite loss can still leave NaN/inf weights; never checkpoint them over good ones."""
        for key, value in self.model.state_dict().items():
            if value.is_floating_point() and not bool(torch.isfinite(value).all()):
                raise self.diverged(self.step, f"weights {key!r} are not finite")

    def diverged(self, step: int, what: str) -> TrainingDiverged:
        where = (f"last good checkpoint: {self.run_dir / CHECKPOINT} (step {self.last_good})"
                 if self.run_dir is not None and self.last_good else "no checkpoint was written")
        return TrainingDiverged(f"training diverged at step {step}: {what}; {where}")

    def _progress_bar(self):
        """A bar in a terminal; in a log file or CI, a plain line at every log step instead of
        thousands of carriage-return updates."""
        if not self.world.writes:
            return LineProgress(self.model.name, self.config.steps, self.step, quiet=True)
        if self.config.progress and not sys.stderr.isatty():
            return LineProgress(self.model.name, self.config.steps, self.step)
        from tqdm.auto import tqdm

        return tqdm(total=self.config.steps, initial=self.step, disable=not self.config.progress,
                    desc=self.model.name, unit="step", dynamic_ncols=True, leave=False)

    def save_samples(self) -> None:
        if self.on_sample is None:
            return
        path = self.run_dir / "samples" / f"step_{self.step:06d}.png"
        self.model.eval()
        with torch.no_grad():
            self.on_sample(self.model, path)
        self.model.train()
        if self.board is not None and path.is_file():  # the grid or the scatter, as drawn (dann draws none)
            import numpy as np
            from PIL import Image

            with Image.open(path) as picture:
                self.board.add_image("samples", np.asarray(picture.convert("RGB")), self.step, dataformats="HWC")

    def draw_curves(self) -> None:
        """Redraw curves.png from metrics.jsonl (rank 0) once CURVES_EVERY_S seconds have passed
        since the last drawing: an interrupted run has recent curves, and frequent checkpoints
        of a short run do not wait on drawing."""
        if not self.world.writes or time.perf_counter() - self.curves_drawn < CURVES_EVERY_S:
            return
        from .plot import save_curves

        save_curves(self.run_dir / METRICS, self.run_dir / CURVES, title=self.title)
        self.curves_drawn = time.perf_counter()

    def _open_board(self):
        """A TensorBoard writer into RUN_DIR/tensorboard (rank 0, tensorboard=true), else None.
        A resumed run hides what the first one logged after its checkpoint, as metrics.jsonl
        drops those lines."""
        if not (self.config.tensorboard and self.world.writes):
            return None
        writer = summary_writer()
        return writer(log_dir=str(self.run_dir / TENSORBOARD), purge_step=self.step + 1 if self.step else None)

    # --- checkpoints ------------------------------------------------------------------------

    def elapsed(self) -> dict[str, float]:
        """Wall-clock and CPU seconds this run has trained, across resumes (the time between
        a run's last checkpoint and its interruption is lost with the interruption)."""
        wall, cpu = self.clock
        return {"seconds": self.spent["seconds"] + time.perf_counter() - wall,
                "cpu_seconds": self.spent["cpu_seconds"] + time.process_time() - cpu}

    def save_checkpoint(self) -> None:
        rng = distributed.gather_rng(self.world, self.device)  # every rank takes part
        if not self.world.writes:
            self.last_good = self.step
            return
        state = {
            "format_version": 1,
            "step": self.step,
            "model": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
            "optimizers": {k: opt.state_dict() for k, opt in self.optimizers.items()},
            "scalers": {k: scaler.state_dict() for k, scaler in self.scalers.items()},
            "rng_cpu": rng[0]["cpu"],
            "rng_cuda": rng[0]["cuda"],
            "processes": self.world.size,
            "rng_ranks": rng if self.world.size > 1 else None,
            "train_config": to_dict(self.config),
            "elapsed": self.elapsed(),
        }
        atomic_write(self.run_dir / CHECKPOINT, lambda tmp: torch.save(state, tmp))
        self.last_good = self.step

    def load_checkpoint(self) -> None:
        path = self.run_dir / CHECKPOINT if self.run_dir is not None else None
        if path is None or not path.is_file():
            raise CheckpointError(f"no checkpoint to resume from: {path}")
        try:
            with zipfile.ZipFile(path) as archive:
                bad = archive.testzip()  # torch.load does not check the CRCs: flipped bits would load
            state = torch.load(path, map_location="cpu", weights_only=True) if bad is None else None
        except Exception as err:  # torch raises many types for a damaged file
            raise CheckpointError(f"damaged checkpoint {path}: {str(err).splitlines()[0]}") from None
        if bad is not None:
            raise CheckpointError(f"damaged checkpoint {path}: {bad} fails its CRC check")
        if not isinstance(state, dict) or not {"step", "model", "optimizers", "rng_cpu"} <= set(state):
            raise CheckpointError(f"damaged checkpoint {path}: not a genlab resume state")
        if int(state["step"]) > self.config.steps:
            raise ConfigError(f"checkpoint {path} is at step {state['step']}, beyond steps={self.config.steps}; "
                              f"resume with more steps")
        saved_by = int(state.get("processes") or 1)
        if saved_by != self.world.size:
            raise ConfigError(f"checkpoint {path} was written by {saved_by} training process"
                              f"{'es' * (saved_by != 1)}; resume it with as many (torchrun --nproc_per_node), "
                              f"not {self.world.size}")
        load_state(self.model, state["model"], str(path))
        for name, opt in self.optimizers.items():
            try:
                opt.load_state_dict(state["optimizers"][name])
            except (KeyError, ValueError) as err:
                raise CheckpointError(f"checkpoint {path} does not fit optimizer {name!r}: {err}") from None
        for name, scaler in self.scalers.items():
            if name not in state.get("scalers", {}):
                raise CheckpointError(f"checkpoint {path} was not written in fp16: it has no gradient scale for "
                                      f"{name!r}; resume with the precision it was trained in")
            scaler.load_state_dict(state["scalers"][name])
        rng = state["rng_ranks"][self.world.rank] if state.get("rng_ranks") else {
            "cpu": state["rng_cpu"], "cuda": state.get("rng_cuda")}
        torch.set_rng_state(rng["cpu"])
        if rng["cuda"] is not None and self.device.type == "cuda":
            torch.cuda.set_rng_state(rng["cuda"], self.device)
        self.step = self.last_good = self.last_log_step = int(state["step"])
        self.spent = {key: float(state.get("elapsed", {}).get(key, 0.0)) for key in self.spent}
        if self.world.writes:
            truncate_metrics(self.run_dir / METRICS, self.step)


def compile_networks(model) -> None:
    """``torch.compile`` each network of the model in place (the weights keep their names,
    so checkpoints and saved models are the same as without)."""
    if model.fitted:
        raise ConfigError(f"compile=true compiles networks; {model.name} is fitted in closed form or by EM")
    for network in model.children():
        network.compile()


def check_precision(model, precision: str, device: torch.device) -> torch.dtype:
    """The dtype autocast runs the networks in, or a one-line ConfigError."""
    if precision not in model.precisions:
        raise ConfigError(f"precision={precision} is not for {model.name}, which trains in "
                          f"{' or '.join(model.precisions)}")
    if precision == "fp16" and device.type != "cuda":
        raise ConfigError(f"precision=fp16 needs a CUDA GPU (its gradient scaler and fast float16 kernels); "
                          f"on {device.type} use bf16")
    return PRECISIONS[precision]


class StreamedBatches:
    """Batches of a streamed image folder, decoded in ``workers`` DataLoader processes.

    The k-th batch of step s on rank r holds the examples a generator seeded by (seed, r, s,
    k) draws, uniformly with replacement as in memory: every step's batches are fixed in
    advance, so the workers can read ahead and a resumed run reads what the first run would
    have. A corrupt image is named in one line and stops the run, as it does in memory:
    skipping it would train on other data than the folder holds.
    """

    def __init__(self, trainer: "Trainer", first_step: int):
        cfg, world = trainer.config, trainer.world
        draws = sum(phase.repeats for phase in trainer.phases)
        size, n = cfg.batch_size // world.size, len(trainer.x)

        def indices():
            for step in range(first_step, cfg.steps + 1):
                for k in range(draws):
                    g = torch.Generator().manual_seed(stream_seed(cfg.seed, f"batch {world.rank} {step} {k}"))
                    yield torch.randint(n, (size,), generator=g).tolist()

        loader = torch.utils.data.DataLoader(
            StoreImages(trainer.x, trainer.labels), batch_sampler=indices(), num_workers=cfg.workers,
            pin_memory=trainer.device.type == "cuda", prefetch_factor=4 if cfg.workers else None,
            generator=torch.Generator().manual_seed(cfg.seed))  # its own: the training stream stays untouched
        self.batches, self.device, self.labelled = iter(loader), trainer.device, trainer.labels is not None

    def next(self):
        try:
            x, y = next(self.batches)
        except DataError as err:  # raised in a worker: its message ends with the original line
            raise DataError(str(err).strip().splitlines()[-1].removeprefix("genlab.errors.DataError: ")) from None
        return x.to(self.device, non_blocking=True), (y.to(self.device) if self.labelled else None)


class LineProgress:
    """The progress bar's interface for a stream that is not a terminal: one line each time
    the trainer logs (``set_postfix``), with the step, the time and the logged figures."""

    def __init__(self, desc: str, total: int, initial: int = 0, stream=None, quiet: bool = False):
        self.desc, self.total, self.n, self.quiet = desc, total, initial, quiet
        self.stream = stream or sys.stderr
        self.start = time.perf_counter()

    def update(self, k: int = 1) -> None:
        self.n += k

    def set_postfix(self, postfix: dict, refresh: bool = False) -> None:
        figures = ", ".join(f"{k} {v}" for k, v in postfix.items())
        self.write(f"{self.desc} step {self.n}/{self.total}, {time.perf_counter() - self.start:.0f} s"
                   + (f": {figures}" if figures else ""))

    def write(self, text: str) -> None:
        if not self.quiet:
            print(text, file=self.stream, flush=True)

    def close(self) -> None:
        pass


def truncate_metrics(path: Path, step: int) -> None:
    """Drop log lines written after ``step`` so a resumed run does not log them twice."""
    if not path.is_file():
        return
    kept = []
    for line in path.read_text().splitlines():
        try:
            if json.loads(line)["step"] <= step:
                kept.append(line)
        except (ValueError, KeyError, TypeError):
            continue  # blank, or cut short by a kill while it was written
    atomic_write(path, lambda tmp: Path(tmp).write_text("".join(line + "\n" for line in kept)))


def train(model, data, config: TrainConfig | None = None, **overrides):
    """Train ``model`` on ``data`` (a ``genlab.data.Dataset``) in memory, no run directory."""
    from .config import from_dict

    if config is None:
        config = from_dict(TrainConfig, overrides, what="training")
    return Trainer(model, data, config).run()
