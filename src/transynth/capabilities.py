"""What each method can do, as data; the lecture's comparison table is printed from it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Capabilities:
    """The columns of the lecture's comparison table plus what the trainer needs to know.

    `translates` is False for generators from noise (InfoGAN, AC-GAN): they cannot translate
    images across domains. `disentangles` is None for methods that cannot disentangle a
    representation; otherwise `unsupervised` says whether the factor is learned without labels
    ("yes", "no" or "partially") and `interpretable` whether its meaning is known in advance.
    """

    translates: bool
    paired: bool  # needs paired training data
    multi_domain: bool
    bidirectional: bool
    joint_representation: bool
    disentangles: bool
    unsupervised: str = "-"  # "yes" | "no" | "partially" | "-"
    interpretable: bool = False
    data_kind: str | tuple[str, ...] = "unpaired"  # the TaskData.kind(s) it trains on

    @property
    def data_kinds(self) -> tuple[str, ...]:
        return (self.data_kind,) if isinstance(self.data_kind, str) else tuple(self.data_kind)


#: Pix2pix: paired training data, one direction, two domains.
PAIRED_ONE_WAY = Capabilities(
    translates=True,
    paired=True,
    multi_domain=False,
    bidirectional=False,
    joint_representation=False,
    disentangles=False,
    data_kind="paired",
)

#: CycleGAN, DualGAN, DiscoGAN: unpaired, two domains, both directions, no joint representation.
UNPAIRED_BIDIRECTIONAL = Capabilities(
    translates=True,
    paired=False,
    multi_domain=False,
    bidirectional=True,
    joint_representation=False,
    disentangles=False,
    data_kind="unpaired",
)

#: InfoGAN, AC-GAN: generators from noise that disentangle a factor; they do not translate.
#: Each method sets ``unsupervised`` and ``interpretable`` (``dataclasses.replace``).
GENERATOR_FROM_NOISE = Capabilities(
    translates=False,
    paired=False,
    multi_domain=False,
    bidirectional=False,
    joint_representation=False,
    disentangles=True,
    data_kind="classes",
)


def _mark(flag: bool) -> str:
    return "O" if flag else "X"


def comparison_table(rows: dict[str, Capabilities]) -> str:
    """The lecture's comparison table (O = yes, X = no) for the given methods, as plain text."""
    header = (
        "method",
        "unpaired data",
        "multi-domain",
        "bi-direction",
        "joint repr.",
        "unsupervised",
        "interpretable",
    )
    lines = []
    for name, cap in rows.items():
        if cap.translates:
            translation = [
                _mark(not cap.paired),
                _mark(cap.multi_domain),
                _mark(cap.bidirectional),
                _mark(cap.joint_representation),
            ]
        else:
            translation = ["n/a"] * 4
        if cap.disentangles:
            unsup = {"yes": "O", "no": "X"}.get(cap.unsupervised, cap.unsupervised)
            disentangle = [unsup, _mark(cap.interpretable)]
        else:
            disentangle = ["n/a"] * 2
        lines.append((name, *translation, *disentangle))
    widths = [max(len(str(r[i])) for r in [header, *lines]) for i in range(len(header))]

    def fmt(row: tuple[str, ...]) -> str:
        return "  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()

    rule = "  ".join("-" * w for w in widths)
    notes = [
        "O = yes, X = no; columns 2-5: cross-domain image translation, 6-7: disentanglement.",
        "n/a under translation: cannot translate images across domains;"
        " n/a under disentanglement: cannot disentangle the representation.",
    ]
    return "\n".join([fmt(header), rule, *(fmt(r) for r in lines), "", *notes])
