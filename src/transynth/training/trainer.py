"""One training loop for every method (see models/base.py for the step protocol)."""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path

import torch
import yaml
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from transynth.config import ConfigError, RunConfig
from transynth.data import TaskData, save_grid
from transynth.eval import evaluate, write_figures
from transynth.eval.selection import check_selection_metrics, selection_record
from transynth.fileio import atomic_write_text
from transynth.models.base import Method
from transynth.registry import get_model_class
from transynth.runfolder import MetricsRecord, RunFolder
from transynth.training import distributed as D
from transynth.training.checkpoint import (
    load_weights,
    read_checkpoint,
    restore_training_state,
    save_checkpoint,
)
from transynth.training.ema import WeightAverage
from transynth.training.logger import RunLogger
from transynth.training.precision import PRECISION_NAMES, resolve_amp
from transynth.training.preemption import StopRequest
from transynth.training.rank_state import rank_states, restore_rank_state
from transynth.training.runlock import hold_for_run
from transynth.training.schedule import linear_decay_factor
from transynth.training.setup import (
    check_channels_last,
    check_resumable,
    check_task_fits,
    compile_networks,
    fixed_items,
    resolve_device,
    task_of,
    training_loader,
)


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the last good checkpoint is kept."""


class Trainer:
    """Trains one method on one task into a run folder, resuming it if it holds a checkpoint."""

    def __init__(self, config: RunConfig, run_dir: str | Path, task: TaskData | None = None):
        self.config = config
        self.run_dir = Path(run_dir)
        self.folder = RunFolder(self.run_dir)
        tc = config.train
        check_selection_metrics(tc)  # before anything is trained or written
        self.device = resolve_device(tc.device)
        self.dist = D.init_distributed(self.device.type)
        if self.dist.enabled and self.device.type == "cuda":
            self.device = torch.device("cuda", self.dist.local_rank)
            torch.cuda.set_device(self.device)
        if tc.amp == "fp16" and self.device.type != "cuda":
            raise ConfigError("train.amp=fp16 needs a CUDA device; on CPU use auto, bf16 or none")
        #: The autocast mode in use: train.amp with ``auto`` resolved for this device.
        self.amp = resolve_amp(tc.amp, self.device)

        method_cls = get_model_class(config.method)
        self.task = task or task_of(config)
        check_task_fits(method_cls, self.task, config.model)
        torch.manual_seed(tc.seed)  # identical initial weights on every process
        self.model: Method = method_cls(config.model, self.task.domains, self.task.image_size)
        self.model.to(self.device)
        if tc.channels_last:
            check_channels_last(self.model, self.device, tc.batch_size)
            self.model.to(memory_format=torch.channels_last)
        if tc.compile:
            compile_networks(self.model)
        if self.dist.enabled:
            D.broadcast_module(self.model)

        self.specs = self.model.optimizers()
        nets = self.model.networks()
        self.optimizers = {
            phase: spec.build([p for n in spec.networks for p in nets[n].parameters()])
            for phase, spec in self.specs.items()
        }
        self.scalers = (
            {phase: torch.amp.GradScaler("cuda") for phase in self.specs}
            if self.amp == "fp16"
            else {}
        )
        self.ema = (
            WeightAverage(self.model, tc.ema, self.model.averaged_networks()) if tc.ema else None
        )
        self.step = 0
        resumed_rank_state = self._maybe_resume()
        if self.dist.enabled and not resumed_rank_state:  # distinct randomness per process
            torch.manual_seed(tc.seed + 1_000_003 * self.dist.rank + self.step)

    # ---- set-up ----------------------------------------------------------------------------
    def _maybe_resume(self) -> bool:
        """Resume from the run folder's checkpoint, if any; True when this process's own random
        state and image pools were restored too (always in one process; under torchrun when the
        checkpoint was written by as many processes)."""
        path = self.folder.checkpoint
        if not path.exists():
            return False
        tensors, meta = read_checkpoint(path)
        check_resumable(json.loads(meta["config"]), self.config, self.run_dir)
        load_weights(self.model, tensors, path)
        if self.ema is not None:
            self.ema.load(tensors, meta.get("ema"), str(path))
        self.step = restore_training_state(tensors, meta, self.optimizers, self.scalers)
        if not self.dist.enabled:
            return True
        return restore_rank_state(self.model, tensors, meta, self.dist, self.device)

    def _loader(self) -> DataLoader:
        return training_loader(self.task, self.config, self.step, self.dist, self.device)

    def _fixed_batch(self, n: int = 8) -> dict[str, torch.Tensor]:
        """The same few test items (train items when there is no test split) for sample grids."""
        return self._to_device(fixed_items(self.task, n))

    def _to_device(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        out = {}
        for k, v in batch.items():
            v = v.to(self.device, non_blocking=True)
            if self.config.train.channels_last and v.dim() == 4:
                v = v.contiguous(memory_format=torch.channels_last)
            out[k] = v
        return out

    # ---- the loop --------------------------------------------------------------------------
    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.amp == "none":
            return contextlib.nullcontext()
        dtype = torch.bfloat16 if self.amp == "bf16" else torch.float16
        return torch.autocast(self.device.type, dtype=dtype)

    def _set_trainable(self, phase: str) -> None:
        active = set(self.specs[phase].networks)
        for name, net in self.model.networks().items():
            net.requires_grad_(name in active)

    def _run_phase(self, phase: str, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        self._set_trainable(phase)
        opt = self.optimizers[phase]
        with self._autocast():
            losses = self.model.step(phase, batch)
        total = torch.stack([v.float() for v in losses.values()]).sum()
        if not D.all_finite(total.detach(), self.dist):
            values = {k: float(v.detach()) for k, v in losses.items()}
            raise TrainingDiverged(
                f"non-finite loss at step {self.step}, phase {phase!r}: {values}. The last good "
                f"checkpoint in {self.folder.checkpoint} is kept; lower the learning rate or "
                "try train.amp=none"
            )
        opt.zero_grad(set_to_none=True)
        params = [p for g in opt.param_groups for p in g["params"]]
        scaler = self.scalers.get(phase)
        stepped = True
        if scaler is not None:
            scaler.scale(total).backward()
            scaler.unscale_(opt)
            if self.dist.enabled:
                D.average_gradients(params, self.dist.world_size)
            scale = scaler.get_scale()
            scaler.step(opt)
            scaler.update()
            stepped = scaler.get_scale() >= scale  # it lowers the scale when it skips a step
        else:
            total.backward()
            if self.dist.enabled:
                D.average_gradients(params, self.dist.world_size)
            opt.step()
        self.model.after_optimizer_step(phase)
        if self.dist.enabled:
            D.broadcast_buffers(self.model)
        if self.ema is not None and stepped:
            self.ema.update(self.model, self.specs[phase].networks)
        return {f"{phase}/{k}": v.detach() for k, v in losses.items()}

    def _set_lr(self) -> dict[str, float]:
        tc = self.config.train
        factor = linear_decay_factor(self.step, tc.steps, tc.decay_start)
        lrs = {}
        for phase, opt in self.optimizers.items():
            for group in opt.param_groups:
                group["lr"] = self.specs[phase].lr * factor
            lrs[f"lr/{phase}"] = self.specs[phase].lr * factor
        return lrs

    def save(self, path: Path | None = None) -> None:
        """Write the resumable checkpoint (rank 0 writes; under torchrun every process calls
        this, and each one's random state and image pools go into the file too)."""
        per_rank = rank_states(self.model, self.dist, self.device)
        if not self.dist.is_main:
            return
        extra = {**(self.ema.tensors() if self.ema is not None else {}), **per_rank}
        save_checkpoint(
            path or self.folder.checkpoint,
            model=self.model,
            step=self.step,
            config=self.config.to_dict(),
            optimizers=self.optimizers,
            scalers=self.scalers,
            extra_tensors=extra or None,
            extra_metadata={
                **({"ema": self.ema.metadata()} if self.ema is not None else {}),
                **({"world_size": str(self.dist.world_size)} if per_rank else {}),
            }
            or None,
        )

    def averaged(self) -> contextlib.AbstractContextManager:
        """The model holds its averaged weights within the block (train.ema), else its own."""
        if self.ema is None:
            return contextlib.nullcontext()
        return self.ema.swapped_in(self.model)

    def _save_weights(self, path: Path, averaged: bool = True) -> None:
        """Inference weights (the averaged ones when train.ema is on), without training state."""
        with self.averaged() if averaged else contextlib.nullcontext():
            save_checkpoint(
                path,
                model=self.model,
                step=self.step,
                config=self.config.to_dict(),
                with_rng=False,
            )

    def _evaluate_all(self) -> dict[str, float]:
        """The method's held-out metrics; with train.ema, those of the averaged weights, and
        the live weights' under ``raw/``."""
        if self.ema is None:
            return evaluate(self.model, self.task)
        with self.averaged():
            metrics = evaluate(self.model, self.task)
        raw = evaluate(self.model, self.task)
        return {**metrics, **{f"raw/{k}": v for k, v in raw.items()}}

    def _save_samples(self, fixed: dict[str, torch.Tensor]) -> None:
        # fork_rng: drawing samples must not change the training run's random stream
        with torch.random.fork_rng(devices=[self.device] if self.device.type == "cuda" else []):
            was_training = self.model.training
            self.model.eval()
            with self.averaged():
                grid, nrow = self.model.visualize(fixed)
            self.model.train(was_training)
        save_grid(grid.float().cpu(), self.folder.sample_grid(self.step), nrow)

    def fit(self, until: int | None = None) -> Path:
        """Train to `train.steps`, then evaluate and write the report. Returns the run folder.

        With `until` < train.steps: train to step `until` only (the schedule is still the one
        of train.steps), write the checkpoint and return, as if the run had been interrupted
        there; a later ``fit()`` resumes it exactly.

        The run folder's lock is held throughout (RunLocked if another trainer holds it), and
        SIGTERM/SIGINT/SIGUSR1 stop the run after the current step with a checkpoint
        (RunInterrupted): see training/runlock.py and training/preemption.py."""
        with hold_for_run(self.run_dir, self.dist), StopRequest() as stop:
            self._stop = stop
            return self._fit(until)

    def _fit(self, until: int | None) -> Path:
        tc = self.config.train
        stop = tc.steps if until is None else min(until, tc.steps)
        main = self.dist.is_main
        if main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            self.folder.config.write_text(yaml.safe_dump(self.config.to_dict(), sort_keys=False))
        logger = RunLogger(self.folder, tc.tensorboard) if main else None
        if logger is not None and self.step:
            logger.truncate_after(self.step)
        fixed = self._fixed_batch()
        loader = self._loader()
        self.model.train()
        start_time = time.time()
        bar = tqdm(
            total=tc.steps,
            initial=self.step,
            disable=not (tc.progress and main),
            desc=f"{self.config.method} {self.task.name} ({PRECISION_NAMES[self.amp]})",
            dynamic_ncols=True,
        )
        try:
            batches = iter(loader)
            while self.step < stop:
                lrs = self._set_lr()
                self.model.global_step = self.step
                batch = self._to_device(next(batches))
                record: dict[str, torch.Tensor] = {}
                for phase in self.model.phases(self.step):
                    record.update(self._run_phase(phase, batch))
                self.step += 1
                bar.update(1)
                if main and (self.step % tc.log_every == 0 or self.step == tc.steps):
                    values = {k: round(float(v), 6) for k, v in record.items()}
                    logger.log(
                        self.step, {"time": round(time.time() - start_time, 3), **lrs, **values}
                    )
                    bar.set_postfix(
                        {k.split("/", 1)[1]: f"{v:.3f}" for k, v in values.items()}, refresh=False
                    )
                if main and (self.step % tc.sample_every == 0 or self.step == tc.steps):
                    self._save_samples(fixed)
                if tc.eval_every and self.step % tc.eval_every == 0 and self.step < tc.steps:
                    if main:
                        self._periodic_eval(logger)
                    D.barrier(self.dist)
                if self.step % tc.checkpoint_every == 0 or self.step == tc.steps:
                    self.save()
                    D.barrier(self.dist)
                self._stop.stop_here(self.step, self.folder.checkpoint, self.save, self.dist)
        finally:
            bar.close()
            if logger is not None:
                logger.close()
        if stop < tc.steps:
            if self.step % tc.checkpoint_every:  # not saved by the loop at this step
                self.save()
                D.barrier(self.dist)
            self._stop.release()
            return self.run_dir
        self._stop.release()  # evaluation and the report: signals act as usual
        if main:
            self._save_weights(self.folder.weights)
            if tc.evaluate:
                metrics = self.evaluate()
                self._track_best(metrics)
                self.write_figures()
            self.write_report()
        D.cleanup(self.dist)
        return self.run_dir

    def score(self) -> dict[str, float]:
        """The method's metrics now (averaged weights, with ``raw/`` ones when train.ema is on),
        leaving the training run's random stream and mode as they were: evaluation (and
        training an evaluator on first use) must not change what the run learns next."""
        with torch.random.fork_rng(devices=[self.device] if self.device.type == "cuda" else []):
            metrics = self._evaluate_all()
        self.model.train()
        return metrics

    def _periodic_eval(self, logger: RunLogger) -> None:
        metrics = self.score()
        logger.log(self.step, {f"eval/{k}": round(v, 6) for k, v in metrics.items()})
        self._track_best(metrics)

    def _track_best(self, metrics: dict[str, float]) -> None:
        """Keep best.safetensors (weights) and best.json when `train.best_metric` improves."""
        tc = self.config.train
        if not tc.best_metric:
            return
        if tc.best_metric not in metrics:
            raise ConfigError(
                f"train.best_metric={tc.best_metric!r} is not among this run's metrics: "
                + ", ".join(sorted(metrics))
            )
        value = metrics[tc.best_metric]
        record_path = self.folder.best_record
        if record_path.exists():
            best = json.loads(record_path.read_text())["value"]
            better = value > best if tc.best_mode == "max" else value < best
            if not better:
                return
        # A raw/ metric was scored by the live weights: keep those.
        self._save_weights(self.folder.best, averaged=not tc.best_metric.startswith("raw/"))
        record = {"step": self.step, "metric": tc.best_metric, "value": value}
        atomic_write_text(record_path, json.dumps(record, indent=2))

    def evaluate(self) -> dict[str, float]:
        metrics = {**self._evaluate_all(), **selection_record(self.config.train)}
        self.folder.write_metrics(
            MetricsRecord(step=self.step, metrics=metrics, amp=self.amp, task=self.task.name)
        )
        return metrics

    def write_figures(self) -> None:
        """The method's own figures (t-SNE of latents, traversals) for the report."""
        with torch.random.fork_rng(devices=[self.device] if self.device.type == "cuda" else []):
            self.model.eval()
            with torch.no_grad(), self.averaged():
                write_figures(self.model, self.task, self.folder.figures)
            self.model.train()

    def write_report(self) -> None:
        from transynth.eval.report import write_report

        write_report(self.run_dir)
