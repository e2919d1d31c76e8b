"""StarGAN's options (``model.*``): the paper's defaults, with their checks."""

from __future__ import annotations

from dataclasses import dataclass

from transynth.models.stargan_labels import LabelSet
from transynth.nn.stargan_nets import UPSAMPLING
from transynth.runconfig import check


@dataclass(frozen=True)
class StarGANConfig:
    ngf: int = 64
    ndf: int = 64
    n_blocks: int = 6  # residual blocks of G (the paper's, at 128 px)
    d_layers: int = 6  # stride-2 convs of D; image_size / 2**d_layers must be >= 1
    dropout: float = 0.0  # in G's residual blocks (not in the paper)
    #: "deconv" (the paper's transposed convolutions) or "resize" (opt-in: nearest upsampling +
    #: 3x3 conv, free of the transposed convolutions' checkerboard; nn.stargan_nets.UPSAMPLING)
    upsample: str = "deconv"
    lambda_cls: float = 1.0
    lambda_rec: float = 10.0
    lambda_gp: float = 10.0
    n_critic: int = 5  # D updates per G update
    lr: float = 1e-4  # G and D
    beta1: float = 0.5
    beta2: float = 0.999
    #: Mask-vector training over several datasets: ``NAME=KIND:label1,label2,...`` per dataset
    #: (KIND domains|attributes), datasets separated by ";"; batches carry "dataset" (its index
    #: here; absent = 0) and that dataset's "domain" or "attrs". Empty: the task's own labels,
    #: no mask. (A string, not a list: the trainer compares configs through JSON on resume.)
    datasets: str = ""

    def label_sets(self) -> list[LabelSet]:
        return [LabelSet.parse(t) for t in self.datasets.split(";") if t.strip()]

    def __post_init__(self) -> None:
        check(
            self.n_blocks >= 0 and self.ngf >= 1 and self.ndf >= 1 and self.d_layers >= 1,
            "model.n_blocks/ngf/ndf/d_layers",
            (self.n_blocks, self.ngf, self.ndf, self.d_layers),
            "n_blocks >= 0, ngf >= 1, ndf >= 1, d_layers >= 1",
        )
        check(
            min(self.lambda_cls, self.lambda_rec, self.lambda_gp) >= 0,
            "model.lambda_cls/rec/gp",
            (self.lambda_cls, self.lambda_rec, self.lambda_gp),
            "non-negative weights",
        )
        check(self.n_critic >= 1, "model.n_critic", self.n_critic, "an integer >= 1")
        check(0 <= self.dropout < 1, "model.dropout", self.dropout, "in [0, 1)")
        check(self.upsample in UPSAMPLING, "model.upsample", self.upsample, " or ".join(UPSAMPLING))
        check(self.lr > 0, "model.lr", self.lr, "a positive number")
        try:
            sets = self.label_sets()
        except ValueError as err:
            check(False, "model.datasets", self.datasets, str(err))
        names = [s.name for s in sets]
        check(
            len(set(names)) == len(names), "model.datasets", self.datasets, "distinct dataset names"
        )
