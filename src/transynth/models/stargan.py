"""StarGAN: one generator that translates among many domains, conditioned on the target label.

Choi, Choi, Kim, Ha, Kim, Choo. "StarGAN: Unified Generative Adversarial Networks for
Multi-Domain Image-to-Image Translation." CVPR 2018.

Paper -> code (the lecture's notation in brackets):
    x, c, c'       a real image ``batch["image"]``, a target label ``c_trg`` and the real
                   image's own label ``c_org`` (one-hot domain, or the 0/1 attribute vector)
    G(x, c)        ``G``: the label is tiled spatially and concatenated to the image channels
    D_src, D_cls   ``D``: one trunk, two heads (PatchGAN real/fake scores, label logits)
    Eq. 1 / 8      adversarial loss, WGAN-GP: D minimises -D_src(x) + D_src(G(x, c))
                   + lambda_gp (||grad D_src(x_hat)|| - 1)^2 (``lambda_gp`` 10); G minimises
                   -D_src(G(x, c))
    Eq. 2          L_cls^r = -log D_cls(c'|x) on real images with their own labels (D's term)
    Eq. 3          L_cls^f = -log D_cls(c|G(x, c)) on fakes with the target labels (G's term),
                   both weighted by ``lambda_cls`` 1; softmax cross-entropy for single-label
                   domains, per-attribute sigmoid cross-entropy (summed) for attributes
    Eq. 4          L_rec = |x - G(G(x, c), c')|_1, weight ``lambda_rec`` 10 [L_cyc]
    Sec. 3.2       the mask vector m: with several datasets whose label sets differ, the label
                   is c~ = [c_1, ..., c_n, m] with m one-hot over the datasets; only the known
                   part is set and only it enters L_cls (``model.datasets``, :class:`LabelSpace`)

Architecture (appendix, Table 4/5): G = conv7-64, two 4x4 stride-2 downsamplings (128, 256),
``n_blocks`` 6 residual blocks, two 4x4 stride-2 transposed convs, conv7 + tanh, instance norm
(with affine parameters) everywhere but the output. D = ``d_layers`` 6 4x4 stride-2 convs
(64 doubling to 2048), LeakyReLU 0.01, no normalisation; D_src a 3x3 conv to one score per patch,
D_cls a conv with kernel image_size / 2**d_layers to the label logits.

Defaults (the paper's): Adam lr 1e-4 for G and D, betas (0.5, 0.999), n_critic 5 (D is updated
on every batch, G on every 5th), batch 16, 128x128, 200k iterations with the lr linearly decayed
over the last 100k (``train.decay_start`` 0.5). Target labels are the batch's real labels
shuffled (the reference code's ``label_org[randperm]``), so targets follow the data's label
distribution.

How n_critic maps onto the step protocol: one training step is one batch (one D update, as one
iteration of the reference code); ``phases(step)`` is ``("d", "g")`` on every ``n_critic``-th
step and ``("d",)`` otherwise, so 200k steps are 200k D updates and 40k G updates.

Translation: ``translate(x, "printed-digits")`` (single-label domains; "AtoB"/"BtoA" name the
second/first domain) or ``translate(x, attributes={"colour": "red", "thick": 1})``: attributes
not given keep the values D_cls reads off the input (the input's own label, which an arbitrary
image does not carry). ``colour=red`` is read as the one-hot group ``colour_*``: ``colour_red``
set, the other ``colour_*`` cleared.

Data: ``digit-styles`` / ``digit-attributes`` (embedded), a folder per domain
(``--data DIR --data.layout=domains``), or an attribute folder (CelebA's list_attr_celeba.txt or
a CSV ``file,attr1,attr2,...``). A method is built from the task's domains only, so an attribute
task passes its attribute names in its single domain's ``class_names`` (the embedded
``digit-attributes`` and attribute folders do so).

Opt-in beyond the paper: ``model.upsample=resize`` doubles the resolution in G by nearest-neighbour
upsampling and a 3x3 convolution instead of the 4x4 stride-2 transposed convolution, which
leaves a checkerboard pattern wherever its kernels overlap unevenly (Odena et al., Distill 2016).

Deliberate departures: instance norm is computed as ``GroupNorm(C, C)`` (the same function, with
affine parameters) without running statistics: torch's eager channels_last InstanceNorm2d gives
wrong CPU gradients at batch 1, and the reference code's running statistics are unused in its
train-mode testing; weights keep PyTorch's default initialisation (as the reference code).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import torch
import torch.nn.functional as F

from transynth.capabilities import UNPAIRED_BIDIRECTIONAL
from transynth.data.types import DomainInfo
from transynth.export import IMAGE_OUTPUT, ExportSpec, FunctionGraph
from transynth.losses import gradient_penalty
from transynth.models.base import Method, OptimizerSpec, columns_grid
from transynth.models.registration import register_model
from transynth.models.stargan_config import StarGANConfig
from transynth.models.stargan_labels import (
    LabelSpace,
    attribute_edits,
    attribute_groups,
    attribute_updates,
    task_labels,
)
from transynth.nn.stargan_nets import StarDiscriminator, StarGenerator


@register_model("stargan")
class StarGAN(Method):
    Config = StarGANConfig
    # the lecture's table: no disentanglement column entry for StarGAN
    capabilities = replace(
        UNPAIRED_BIDIRECTIONAL, multi_domain=True, data_kind=("domains", "attributes")
    )
    default_task = "digit-styles"
    network_names = ("G", "D")
    monitored_losses = ("g/rec",)
    conditions = ("attributes",)
    # Per (source, target) domain pair or per attribute edit (mask-vector runs: not supported)
    evaluation = ("multidomain",)
    figures = ("all_targets",)  # each test input translated to every target

    def __init__(self, config: StarGANConfig, domains: Sequence[DomainInfo], image_size: int):
        super().__init__(config, domains, image_size)
        c = config
        channels = {d.channels for d in self.domains}
        if len(channels) != 1:
            raise ValueError(
                "stargan's one generator needs every domain at the same channel count, got "
                f"{[(d.name, d.channels) for d in self.domains]}; set data.channels=3"
            )
        self.channels = channels.pop()
        if c.d_layers > 0 and image_size // 2**c.d_layers < 1:
            raise ValueError(
                f"model.d_layers={c.d_layers} halves image_size {image_size} below 1 pixel; "
                f"use d_layers <= {int(math.log2(image_size))}"
            )
        sets = c.label_sets() or [task_labels(self.domains)]
        self.labels = LabelSpace(sets)
        self.G = StarGenerator(
            self.channels, self.labels.dim, c.ngf, c.n_blocks, c.dropout, c.upsample
        )
        self.D = StarDiscriminator(
            self.channels, self.labels.cls_dim, image_size, c.ndf, c.d_layers
        )
        # The batch's dataset, its own labels and the step's targets, shared by the D and G
        # phases of one step (the reference code uses one target per iteration for both).
        self._targets: tuple[int, torch.Tensor, torch.Tensor, int] | None = None

    # ---- labels --------------------------------------------------------------------------
    @property
    def domain_mode(self) -> bool:
        """Single dataset of single-label domains (``translate(x, "domain-name")``)."""
        return not self.labels.mask and self.labels.sets[0].kind == "domains"

    def _labels_of(self, batch: dict[str, torch.Tensor]) -> tuple[int, torch.Tensor, torch.Tensor]:
        """(dataset k, c_org block, c_trg block) of a batch; targets are drawn once per step."""
        key = id(batch["image"])
        if self._targets is not None and self._targets[3] == key:
            return self._targets[:3]
        k = 0
        if "dataset" in batch:
            ids = batch["dataset"].long().unique()
            if len(ids) != 1 or not 0 <= int(ids[0]) < len(self.labels.sets):
                raise ValueError(
                    f"a batch must come from one dataset of model.datasets (0..."
                    f"{len(self.labels.sets) - 1}), got dataset ids {ids.tolist()}"
                )
            k = int(ids[0])
        c_org = self.labels.own(k, batch).to(batch["image"].device)
        # Targets: the batch's own labels shuffled (reference code), so they follow the data.
        c_trg = c_org[torch.randperm(len(c_org)).to(c_org.device)]
        self._targets = (k, c_org, c_trg, key)
        return k, c_org, c_trg

    # ---- training ------------------------------------------------------------------------
    def optimizers(self) -> dict[str, OptimizerSpec]:
        c = self.config
        betas = (c.beta1, c.beta2)
        return {"d": OptimizerSpec(("D",), c.lr, betas), "g": OptimizerSpec(("G",), c.lr, betas)}

    def phases(self, step: int) -> tuple[str, ...]:
        # D on every batch, G after every n_critic-th D update (reference: (i+1) % n_critic).
        return ("d", "g") if (step + 1) % self.config.n_critic == 0 else ("d",)

    def step(self, phase: str, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        if phase == "d":
            return self.d_step(batch)
        if phase == "g":
            losses = self.g_step(batch)
            self._targets = None  # the step is over: the next batch draws new targets
            return losses
        raise ValueError(f"stargan has phases d and g, not {phase!r}")

    def d_step(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        c = self.config
        x = batch["image"]
        k, c_org, c_trg = self._labels_of(batch)
        src_real, cls_real = self.D(x)
        with torch.no_grad():  # D's phase: G is fixed, its output a constant input to D
            fake = self.G(x, self.labels.vector(k, c_trg))
        src_fake, _ = self.D(fake)
        losses = {
            "real": -src_real.float().mean(),  # WGAN critic: raise D_src on real ...
            "fake": src_fake.float().mean(),  # ... lower it on fakes
            "cls": c.lambda_cls * self.labels.cls_loss(cls_real, k, c_org),  # Eq. 2
        }
        if c.lambda_gp > 0:
            losses["gp"] = c.lambda_gp * gradient_penalty(lambda v: self.D(v)[0], x, fake)
        if "g" not in self.phases(self.global_step):
            self._targets = None
        return losses

    def g_step(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        c = self.config
        x = batch["image"]
        k, c_org, c_trg = self._labels_of(batch)
        fake = self.G(x, self.labels.vector(k, c_trg))  # G(x, c); D is frozen in this phase
        src_fake, cls_fake = self.D(fake)
        rec = self.G(fake, self.labels.vector(k, c_org))  # G(G(x, c), c')
        return {
            "gan": -src_fake.float().mean(),
            "cls": c.lambda_cls * self.labels.cls_loss(cls_fake, k, c_trg),  # Eq. 3
            "rec": c.lambda_rec * F.l1_loss(rec.float(), x.float()),  # Eq. 4
        }

    # ---- inference -----------------------------------------------------------------------
    def size_multiple(self, direction: str) -> int:
        return StarGenerator.size_multiple

    def source_channels(self, direction: str) -> int:
        return self.channels

    def _domain_names(self) -> list[str]:
        return [n for s in self.labels.sets if s.kind == "domains" for n in s.names]

    def _target_domain(self, direction: str) -> tuple[int, int] | None:
        """(dataset, index) of a named target domain; None for "AtoB"/"BtoA" without domains."""
        if self.domain_mode and direction in ("AtoB", "BtoA"):
            return 0, 1 if direction == "AtoB" else 0
        for k, s in enumerate(self.labels.sets):
            if s.kind == "domains" and direction in s.names:
                return k, s.names.index(direction)
        if direction in ("AtoB", "BtoA") or any(
            direction == s.name for s in self.labels.sets if s.kind == "attributes"
        ):
            return None
        raise ValueError(self._direction_help(direction))

    def _direction_help(self, direction: str) -> str:
        names = self._domain_names()
        attr_sets = [s for s in self.labels.sets if s.kind == "attributes"]
        accepted = ", ".join(names) if names else "AtoB (the attributes given)"
        if attr_sets:
            accepted += "; attribute targets via attributes={...} / --set ATTR=VALUE"
        return f"unknown target {direction!r} for stargan; accepted: {accepted}"

    def check_direction(self, direction: str) -> None:
        self._target_domain(direction)

    def resolve_direction(self, to: str) -> str:
        self._target_domain(to)
        return to

    def target_labels(
        self,
        x: torch.Tensor,
        direction: str = "AtoB",
        attributes: Mapping[str, Any] | None = None,
    ) -> torch.Tensor:
        """c~ for translating `x` to a named domain and/or with attribute settings.

        Attributes not set keep the values D_cls reads off `x`."""
        target = self._target_domain(direction)
        attributes = dict(attributes or {})
        n = x.shape[0]
        if target is not None and not attributes:
            k, j = target
            block = torch.zeros(n, len(self.labels.sets[k].names), device=x.device)
            block[:, j] = 1.0
            return self.labels.vector(k, block)
        attr_sets = [k for k, s in enumerate(self.labels.sets) if s.kind == "attributes"]
        if not attr_sets:
            raise ValueError(
                f"this stargan run translates between domains ({', '.join(self._domain_names())})"
                "; it takes no attributes: give the target domain instead (--to NAME)"
            )
        if target is not None:
            raise ValueError("give either a target domain or attributes, not both")
        k = attr_sets[0]
        if len(attr_sets) > 1:  # mask mode: the dataset whose names the settings use
            owners = [
                i
                for i in attr_sets
                if set(attributes)
                <= set(self.labels.sets[i].names) | set(attribute_groups(self.labels.sets[i].names))
            ]
            if not owners:
                raise ValueError(
                    f"attributes {sorted(attributes)} do not all belong to one dataset of "
                    f"model.datasets ({', '.join(self.labels.sets[i].name for i in attr_sets)})"
                )
            k = owners[0]
        updates = attribute_updates(self.labels.sets[k].names, attributes)
        block = self.labels.predict(self.D(x)[1], k)
        for i, v in updates.items():
            block[:, i] = v
        return self.labels.vector(k, block)

    def translate_tensor(self, x: torch.Tensor, direction: str, **condition: Any) -> torch.Tensor:
        c = self.target_labels(x, direction, condition.get("attributes"))
        return self.G(x, c)

    @torch.no_grad()
    def visualize(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]:
        """Rows: the input, then its translation to every domain (or with each attribute set
        to 1 / flipped), then the reconstruction from the first translation."""
        x = batch["image"]
        k, c_org, _ = self._labels_of(batch)
        self._targets = None
        cols = [x]
        first = None
        for block in self._edits(c_org, k):
            y = self.G(x, self.labels.vector(k, block))
            first = y if first is None else first
            cols.append(y)
        cols.append(self.G(first, self.labels.vector(k, c_org)))
        return columns_grid(cols)

    def _edits(self, c_org: torch.Tensor, k: int) -> list[torch.Tensor]:
        """Target blocks shown per input: each domain, or each attribute edit."""
        s = self.labels.sets[k]
        if s.kind == "domains":
            n, m = c_org.shape
            return [F.one_hot(torch.full((n,), j), m).float().to(c_org) for j in range(m)]
        return [block for _, block in attribute_edits(s.names, c_org)]

    def conditional_export_spec(self) -> ExportSpec:
        """G as a graph of (image, target): one graph for every target domain or attribute set.

        `target` is c~ itself, (N, labels.dim) float: a dataset's block (one-hot domain or 0/1
        attributes) in place, zeros elsewhere, and with several datasets the mask one-hot."""
        gen = torch.Generator().manual_seed(0)
        channels = self.domains[0].channels
        image = torch.rand(2, channels, self.image_size, self.image_size, generator=gen) * 2 - 1
        blocks = []
        for i in range(2):
            names = self.labels.sets[0].names
            if self.labels.sets[0].kind == "domains":
                block = F.one_hot(torch.tensor([i % len(names)]), len(names)).float()
            else:
                block = torch.randint(0, 2, (1, len(names)), generator=gen).float()
            blocks.append(self.labels.vector(0, block))
        columns = [name for s in self.labels.sets for name in s.names]
        if self.labels.mask:
            columns += [f"mask:{s.name}" for s in self.labels.sets]
        return ExportSpec(
            module=FunctionGraph(self, self.G),
            inputs={"image": image.to(self.device), "target": torch.cat(blocks).to(self.device)},
            outputs=("translated",),
            image_inputs=("image",),
            contract={
                "computes": "translation of each image to its row of target labels",
                "inputs": {
                    "image": {
                        **IMAGE_OUTPUT,
                        "channels": channels,
                        "side_multiple": self.size_multiple(self.domains[0].name),
                    },
                    "target": {"columns": columns, "values": "0 or 1 (one-hot per domain set)"},
                },
                "outputs": {"translated": IMAGE_OUTPUT},
            },
        )
