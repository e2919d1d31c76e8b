"""The step protocol every method implements, and what it inherits for inference.

A method is an ``nn.Module`` that owns its networks and computes NAMED loss terms; it never calls
``backward()`` or an optimizer. The trainer, for each phase the method lists for the step
(``phases(step)``, e.g. ``("g", "d")``):

1. freezes every network outside that phase's optimizer group (``requires_grad`` off, so the
   backward pass skips their weight gradients),
2. calls ``step(phase, batch)`` under autocast and sums the returned terms,
3. runs backward (with a gradient scaler for fp16), averages gradients across processes, steps
   that phase's optimizer, and calls ``after_optimizer_step(phase)``.

Each returned term is already multiplied by its weight: the dict is both the objective and the log.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn

from transynth.capabilities import Capabilities
from transynth.data.types import DomainInfo
from transynth.export import (
    IMAGE_OUTPUT,
    ExportError,
    ExportSpec,
    TranslationGraph,
    export_spec,
)
from transynth.models.optimizer_spec import OptimizerSpec
from transynth.runconfig import RunConfig

DIRECTIONS = ("AtoB", "BtoA")


class Method(nn.Module):
    """Base class of every registered method.

    Subclasses set the class attributes, build their networks in ``__init__`` as attributes
    listed in ``network_names``, and implement ``optimizers``, ``step`` and ``translate_tensor``
    (translators) or ``sample`` (generators from noise).
    """

    name: ClassVar[str]  # set by @register_model
    Config: ClassVar[type]  # the frozen dataclass of hyper-parameters, with the paper's defaults
    capabilities: ClassVar[Capabilities]
    default_task: ClassVar[str]  # embedded task trained when --data is not given
    network_names: ClassVar[tuple[str, ...]]
    #: Logged loss terms ("phase/name") that must fall when the method trains on an easy task:
    #: the learning test of every method watches these (usually its reconstruction terms).
    monitored_losses: ClassVar[tuple[str, ...]]
    #: Keyword conditions ``translate`` accepts besides the direction (e.g. ``("label",)`` for
    #: E-CDRD's translation with a chosen attribute, ``("attributes",)`` for StarGAN).
    conditions: ClassVar[tuple[str, ...]] = ()
    #: The evaluation protocols the evaluation layer's ``evaluate`` runs for this method, in
    #: order (names from its ``EVALUATION_PROTOCOLS``); translators share ``("translation",)``.
    evaluation: ClassVar[tuple[str, ...]] = ("translation",)
    #: The figure kinds the evaluation layer's ``write_figures`` draws for the run report (names
    #: from its ``FIGURE_KINDS``), e.g. a t-SNE of a shared latent space, code traversals.
    figures: ClassVar[tuple[str, ...]] = ()

    def __init__(self, config: Any, domains: Sequence[DomainInfo], image_size: int) -> None:
        super().__init__()
        self.config = config
        self.domains = tuple(domains)
        self.image_size = image_size
        #: The training step being run; set by the trainer before each step so that schedules
        #: inside a method (loss-weight ramps) are pure functions of it.
        self.global_step = 0
        #: Set by :func:`transynth.load`: the config of the run the weights come from, and the
        #: training step they were saved at (None for a method that was not loaded).
        self.run_config: RunConfig | None = None
        self.trained_steps: int | None = None

    @classmethod
    def check_task(cls, config: Any, task: Any) -> None:
        """Refuse, before anything is built, a task (a TaskData) this method cannot train on
        with `config`, naming what is missing (e.g. a domain-adaptation method's source labels);
        the trainer calls it. Nothing by default."""

    # ---- the training protocol -------------------------------------------------------------
    def optimizers(self) -> dict[str, OptimizerSpec]:
        """Phase name -> the optimizer of that phase."""
        raise NotImplementedError

    def phases(self, step: int) -> tuple[str, ...]:
        """Phases run on the batch of training step `step`, in order."""
        return ("g", "d")

    def step(self, phase: str, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Weighted loss terms of one phase on one batch."""
        raise NotImplementedError

    def after_optimizer_step(self, phase: str) -> None:
        """Called by the trainer right after the optimizer step of `phase` (e.g. WGAN weight
        clipping)."""

    def extra_state(self) -> dict[str, torch.Tensor]:
        """Training state outside the networks and optimizers (e.g. image pools)."""
        return {}

    def load_extra_state(self, state: dict[str, torch.Tensor]) -> None:
        del state

    def visualize(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]:
        """A grid (N, 3, H, W) in [-1, 1] showing the method at work, and its row length."""
        raise NotImplementedError

    # ---- inference -------------------------------------------------------------------------
    def networks(self) -> dict[str, nn.Module]:
        return {name: getattr(self, name) for name in self.network_names}

    def averaged_networks(self) -> tuple[str, ...]:
        """Networks whose weights the trainer averages when ``train.ema`` is on: by default
        every network an optimizer trains. A method leaves out a network that other networks
        were trained against as it is (DTN's frozen f)."""
        specs = self.optimizers().values()
        return tuple(dict.fromkeys(n for spec in specs for n in spec.networks))

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def translate_tensor(self, x: torch.Tensor, direction: str, **condition: Any) -> torch.Tensor:
        """Translate a batch (N, C, H, W) in [-1, 1] whose sides fit the generator.

        `condition` holds only keys listed in ``conditions`` (checked by ``translate``)."""
        raise NotImplementedError(f"{self.name} does not translate images")

    def sample(
        self,
        n: int,
        *,
        labels: int | Sequence[int] | torch.Tensor | None = None,
        codes: dict[str, float] | None = None,
        seed: int | None = None,
    ) -> torch.Tensor | dict[str, torch.Tensor]:
        """Generate `n` images (N, C, H, W) in [-1, 1] from noise (generators only).

        Args:
            labels: one class for all images or one per image (label-conditioned methods).
            codes: latent code values fixed for all images, by name (e.g. InfoGAN's
                ``{"c1": 3, "c2": 0.5}``); codes not given are drawn at random.
            seed: makes the noise reproducible.

        Methods that generate several domains jointly (CDRD) return {domain name: images}.
        """
        raise ValueError(f"{self.name} translates images; it does not sample from noise")

    def resolve_direction(self, to: str) -> str:
        """The direction that translates into `to`: "AtoB"/"BtoA" or a target domain's name."""
        if to in DIRECTIONS:
            return to
        names = [d.name for d in self.domains]
        if len(names) == 2 and to in names:
            return "AtoB" if to == names[1] else "BtoA"
        raise ValueError(
            f"unknown target {to!r} for {self.name}; accepted: AtoB, BtoA or a domain of this "
            f"run ({', '.join(names)})"
        )

    def size_multiple(self, direction: str) -> int:
        """Input sides must be multiples of this (inputs are padded to it and cropped back)."""
        return 1

    def check_direction(self, direction: str) -> None:
        allowed = DIRECTIONS if self.capabilities.bidirectional else DIRECTIONS[:1]
        if not self.capabilities.translates:
            raise ValueError(f"{self.name} generates from noise; it cannot translate images")
        if direction not in allowed:
            raise ValueError(
                f"direction {direction!r} is not available for {self.name}; "
                f"accepted: {', '.join(allowed)}"
            )

    def source_channels(self, direction: str) -> int:
        return self.domains[0 if direction == "AtoB" else 1].channels

    @torch.no_grad()
    def translate(
        self, images: Any, direction: str = "AtoB", *, native: bool = False, **condition: Any
    ) -> Any:
        """Translate images of any size.

        Args:
            images: a tensor (N, C, H, W) or (C, H, W) in [-1, 1], a PIL image, or a list of PIL
                images. Channels are converted to what the source domain expects.
            direction: "AtoB" or, for bidirectional methods, "BtoA" (multi-domain methods: the
                target domain's name).
            native: False: PIL images go at the trained scale (:mod:`transynth.models.scale`);
                True: at their own resolution. Tensors always run at their own size.
            condition: the method's extra conditions (see ``conditions``), e.g. ``label=7``.

        Returns:
            The same kind of object as `images`: tensors in [-1, 1] or PIL images.
        """
        from transynth.models.scale import check_native, translate_images

        self.check_direction(direction)
        self._check_conditions(condition)
        if isinstance(images, torch.Tensor):
            if native:
                check_native(self, direction)
            single = images.dim() == 3
            batch = images.unsqueeze(0) if single else images
            out = self._translate_any_size(batch, direction, condition)
            return out[0] if single else out
        return translate_images(self, images, direction, native, condition)

    def fixed_size_reason(self, direction: str) -> str | None:
        """Why the generator runs at one fixed size (it resizes inputs to image_size x image_size
        and back itself); None for a fully convolutional one (``translate(native=True)``)."""
        return None

    # ---- export ----------------------------------------------------------------------------
    #: Why this method's translation cannot be exported as a graph (None: it can).
    translation_export_blocker: ClassVar[str | None] = None

    def translation_export_spec(self, direction: str = "AtoB", **condition: Any) -> ExportSpec:
        """The translation `direction` (with `condition` fixed) as a graph of one image input."""
        if not self.capabilities.translates:
            raise ExportError(
                f"{self.name} generates from noise: export its sampler (--sampler, sampler=True)"
            )
        self.check_direction(direction)
        self._check_conditions(condition)
        if self.translation_export_blocker:
            raise ExportError(f"{self.name}: {self.translation_export_blocker}")
        channels = self.source_channels(direction)
        gen = torch.Generator().manual_seed(0)
        image = torch.rand(2, channels, self.image_size, self.image_size, generator=gen) * 2 - 1
        graph = TranslationGraph(self, direction, condition)
        names = [d.name for d in self.domains]
        source = names[0 if direction == "AtoB" else 1] if direction in DIRECTIONS else None
        target = names[1 if direction == "AtoB" else 0] if direction in DIRECTIONS else direction
        return ExportSpec(
            module=graph,
            inputs={"image": image.to(self.device)},
            outputs=("translated",),
            image_inputs=("image",),
            contract={
                "computes": f"translation {source or 'any domain'} -> {target}",
                "direction": direction,
                "condition": {k: v for k, v in condition.items() if v is not None},
                "inputs": {
                    "image": {
                        **IMAGE_OUTPUT,
                        "channels": channels,
                        "side_multiple": self.size_multiple(direction),
                    }
                },
                "outputs": {"translated": IMAGE_OUTPUT},
            },
        )

    def sampler_export_spec(self) -> ExportSpec:
        """The generator from noise as a graph of its latent inputs (generators only)."""
        raise ExportError(f"{self.name} translates images; it has no sampler to export")

    def conditional_export_spec(self) -> ExportSpec:
        """The translator with its target as an input (multi-domain methods only)."""
        raise ExportError(
            f"{self.name} has no target input to export; export one direction instead"
        )

    def export(
        self,
        path: str | Path,
        *,
        direction: str = "AtoB",
        sampler: bool = False,
        conditional: bool = False,
        fmt: str | None = None,
        **condition: Any,
    ) -> dict[str, Any]:
        """Write the translation `direction` (with `sampler`, the generator from noise; with
        `conditional`, a multi-domain translator taking its target as an input) as a
        stand-alone ``.pt2`` or ``.onnx`` graph, checked against this method, with its contract
        in ``path.with_suffix(".json")``; returns that contract. See :mod:`transynth.export`.
        """
        was_training = self.training
        self.eval()
        try:
            if sampler and conditional:
                raise ExportError("choose sampler or conditional, not both")
            if sampler:
                spec = self.sampler_export_spec()
            elif conditional:
                spec = self.conditional_export_spec()
            else:
                spec = self.translation_export_spec(direction, **condition)
            return export_spec(self, Path(path), spec, fmt)
        finally:
            self.train(was_training)

    def _check_conditions(self, condition: dict[str, Any]) -> None:
        unknown = sorted(set(condition) - set(self.conditions))
        if unknown:
            accepted = ", ".join(self.conditions) or "none"
            raise ValueError(
                f"{self.name} does not take {', '.join(unknown)} when translating; "
                f"accepted conditions: {accepted}"
            )

    def _translate_any_size(
        self, x: torch.Tensor, direction: str, condition: dict[str, Any] | None = None
    ) -> torch.Tensor:
        was_training = self.training
        self.eval()
        try:
            x = match_channels(x.to(self.device, torch.float32), self.source_channels(direction))
            h, w = x.shape[-2:]
            m = self.size_multiple(direction)
            ph, pw = (-h) % m, (-w) % m
            if ph or pw:  # reflect-pad up to the generator's stride, crop back afterwards
                mode = "reflect" if ph < h and pw < w else "replicate"
                x = nn.functional.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2), mode=mode)
            y = self.translate_tensor(x, direction, **(condition or {}))
            return y[..., ph // 2 : ph // 2 + h, pw // 2 : pw // 2 + w].float().cpu()
        finally:
            self.train(was_training)


def judge_real_and_fake(
    D: nn.Module, real: torch.Tensor, fake: torch.Tensor, joint: bool
) -> tuple[Any, Any]:
    """D's outputs (a per-image tensor, or a tuple of them) for the real and the generated
    images: two batches, or one with `joint` (one set of batch-norm statistics for both)."""
    if not joint:
        return D(real), D(fake)
    outputs = D(torch.cat([real, fake.to(real.dtype)]))
    n = real.shape[0]
    if isinstance(outputs, torch.Tensor):
        return outputs[:n], outputs[n:]
    return tuple(o[:n] for o in outputs), tuple(o[n:] for o in outputs)


def columns_grid(cols: list[torch.Tensor]) -> tuple[torch.Tensor, int]:
    """Images of several columns (each (N, C, H, W)) as one RGB grid, a row per item."""
    return torch.stack([to_rgb(t.float()) for t in cols], 1).flatten(0, 1), len(cols)


class TwoWayTranslator:
    """Inference shared by methods with generators ``G_AB`` (A -> B) and ``G_BA`` (B -> A)."""

    G_AB: nn.Module
    G_BA: nn.Module

    def translate_tensor(self, x: torch.Tensor, direction: str, **condition: Any) -> torch.Tensor:
        return (self.G_AB if direction == "AtoB" else self.G_BA)(x)

    def size_multiple(self, direction: str) -> int:
        return self.G_AB.size_multiple

    @torch.no_grad()
    def visualize(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]:
        """Rows of: real A, G_AB(A), G_BA(G_AB(A)), real B, G_BA(B), G_AB(G_BA(B))."""
        real_a, real_b = batch["A"], batch["B"]
        fake_b, fake_a = self.G_AB(real_a), self.G_BA(real_b)
        return columns_grid([real_a, fake_b, self.G_BA(fake_b), real_b, fake_a, self.G_AB(fake_a)])


def match_channels(x: torch.Tensor, channels: int) -> torch.Tensor:
    """Convert (N, C, H, W) between 1 and 3 channels (luminance / repetition)."""
    if x.shape[1] == channels:
        return x
    if x.shape[1] == 3 and channels == 1:
        weights = torch.tensor([0.299, 0.587, 0.114], device=x.device, dtype=x.dtype)
        return (x * weights.view(1, 3, 1, 1)).sum(1, keepdim=True)
    if x.shape[1] == 1 and channels == 3:
        return x.expand(-1, 3, -1, -1)
    raise ValueError(f"cannot convert {x.shape[1]}-channel images to {channels} channels")


def to_rgb(x: torch.Tensor) -> torch.Tensor:
    """For display: any 1- or 3-channel batch as 3 channels."""
    return match_channels(x, 3)
