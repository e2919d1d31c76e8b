"""The figures a method adds to its run report, by kind, and the one entry point that draws them.

A method lists its figure kinds as class data (``Method.figures``, names from
:data:`FIGURE_KINDS`); :func:`write_figures` writes each as ``folder/NAME.png`` with its caption in
``NAME.txt`` (:func:`~transynth.eval.figures.save_figure`), which the report embeds.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from transynth.eval import generation
from transynth.eval.disentanglement import traversal_grid
from transynth.eval.figures import save_figure, tsne_figure
from transynth.eval.generator_protocols import code_accuracy
from transynth.eval.gt_figure import ground_truth_grid
from transynth.eval.multidomain import translation_grid
from transynth.models.base import columns_grid
from transynth.nn.inference import evaluating, run_batched

__all__ = ["FIGURE_KINDS", "TRAVERSAL", "code_traversal", "write_figures"]

#: Values a continuous code takes in traversal figures: beyond the training range [-1, 1], as
#: InfoGAN's Figure 2 (c, d) varies c2, c3 from -2 to 2.
TRAVERSAL = torch.linspace(-2.0, 2.0, 9)


def _two_domain_tsne(
    model: Any,
    split: Any,
    features: Callable[[torch.Tensor, int], torch.Tensor],
    folder: Path,
    name: str,
    title: str,
    caption: str,
    min_points: int,
    max_per_domain: int = 500,
) -> None:
    """t-SNE of `features(x, domain)` of the first `max_per_domain` images of both domains of
    `split`, coloured by domain and by class; nothing with fewer than `min_points` images."""
    feats, doms, labels = [], [], []
    with evaluating(model):
        for d in (0, 1):
            x, y = split.domain_tensors(d)
            x, y = x[:max_per_domain], y[:max_per_domain]
            if len(x) == 0:
                continue
            z = run_batched(lambda b, d=d: features(b, d), x, 256, device=model.device)
            feats.append(z.flatten(1))
            doms.append(torch.full((len(x),), d))
            labels.append(y.clamp(min=0))
    if sum(len(f) for f in feats) < min_points:
        return
    names = [d.name for d in model.domains]
    fig = tsne_figure(torch.cat(feats), torch.cat(doms), torch.cat(labels), names, title)
    save_figure(folder, name, fig, caption)


def latent_tsne(model: Any, task: Any, folder: Path) -> None:
    """t-SNE of the shared latent codes ``encode(x, domain)`` of both domains' test images."""
    split = task.test if len(task.test) else task.train
    a, b = (d.name for d in model.domains)
    label = model.name.upper()
    _two_domain_tsne(
        model,
        split,
        model.encode,
        folder,
        "latent_tsne",
        f"{label} shared latent z = E(x) of {a} and {b} test images",
        f"t-SNE of {label}'s shared latent codes of held-out test images of both domains: "
        "left coloured by domain (mixed = a shared space), right by digit class (clusters "
        "per class across domains = a joint representation). Labels are used only to "
        "colour the plot.",
        min_points=1,
    )


def feature_tsne(model: Any, task: Any, folder: Path) -> None:
    """t-SNE of the shared discriminator features ``features(x, domain)`` of real test images."""
    a, b = (d.name for d in model.domains)
    _two_domain_tsne(
        model,
        task.test,
        model.features,
        folder,
        "tsne_dc_features",
        f"{model.name}: D_C features of real test images",
        f"t-SNE of the shared discriminator trunk's features (D_C) of real {a} "
        f"(source) and {b} (target) test images; left coloured by domain, right "
        "by class. Aligned, class-separated clusters across domains are what cross-domain "
        "classification needs.",
        min_points=10,
    )


def joint_samples(model: Any, task: Any, folder: Path) -> None:
    """For each attribute value, a row per domain of pairs generated from the same (z, l)."""
    per = 8
    rows = []
    for k in range(model.num_classes):
        pair = model.sample(per, labels=k, seed=k)
        rows += [t.float().expand(-1, 3, -1, -1) for t in pair.values()]
    a, b = (d.name for d in model.domains)
    save_figure(
        folder,
        "joint_samples",
        torch.cat(rows),
        f"Joint samples: for each attribute value (0..{model.num_classes - 1}, two rows each) "
        f"a row of {a} and below it the {b} images generated from the same (z, l).",
        nrow=per,
    )


def attribute_translations(model: Any, task: Any, folder: Path) -> None:
    """Source test images translated into the target with each attribute value in turn."""
    x, _ = task.test.domain_tensors(0)
    x = x[:8].to(model.device)
    if len(x) == 0:
        return
    cols = [x.float().cpu()]
    for k in range(model.num_classes):
        cols.append(model.translate(x, "AtoB", label=k).float())
    grid, nrow = columns_grid(cols)
    a, b = (d.name for d in model.domains)
    save_figure(
        folder,
        "translation_with_attribute",
        grid,
        f"E-CDRD translation with a chosen attribute: each row a {a} test image, then "
        f"its translation into {b} with the attribute set to 0..{model.num_classes - 1}.",
        nrow=nrow,
    )


def code_grids(model: Any, task: Any, folder: Path) -> None:
    """``code_<c>.png`` per categorical code: rows of noise draws, a column per value, with the
    evaluator's matching of values to classes in the caption where there is an evaluator."""
    ev = generation.domain_evaluator(task, model.device)
    matches = code_accuracy(model, ev, 50, torch.Generator().manual_seed(0)) if ev else {}
    names = task.domains[0].class_names
    for k in model.cat_codes:
        images = model.value_grid(8, k.name, torch.arange(k.values))
        caption = (
            f"InfoGAN categorical code {k.name}: one column per value 0..{k.values - 1}, one "
            "row per draw of the noise and other codes (fixed along the row)."
        )
        if k.name in matches:
            acc, match = matches[k.name]
            mapped = ", ".join(
                f"{v}->{names[c] if c < len(names) else c}" for v, c in sorted(match.items())
            )
            caption += (
                f" Evaluator's reading of each value (value->class): {mapped}; matched "
                f"accuracy {acc:.1%} on 50 images per value."
            )
        save_figure(folder, f"code_{k.name}", images, caption, nrow=k.values)


def code_traversal(
    model: Any, name: str, values: torch.Tensor | None = None
) -> tuple[torch.Tensor, int]:
    """A traversal of continuous code `name` (``model.traversal_samples``): rows are the values
    of the first categorical code (8 noise draws without one), columns `values` (default
    :data:`TRAVERSAL`). Returns (images, row length)."""
    values = TRAVERSAL if values is None else values
    return traversal_grid(
        lambda rows, vals: model.traversal_samples(name, rows, vals),
        values,
        model.traversal_rows,
    )


def code_traversals(model: Any, task: Any, folder: Path) -> None:
    """``traversal_<c>.png`` per continuous code, from -2 to 2 along each row."""
    for k in model.cont_codes:
        images, nrow = code_traversal(model, k.name)
        first = model.cat_codes[0] if model.cat_codes else None
        rows = f"the values 0..{first.values - 1} of {first.name}" if first else "8 noise draws"
        caption = (
            f"InfoGAN traversal of continuous code {k.name} from -2 to 2 (trained on -1..1) "
            f"along each row; rows: {rows}; noise fixed per row, other continuous codes 0."
        )
        save_figure(folder, f"traversal_{k.name}", images, caption, nrow=nrow)


def class_grid(model: Any, task: Any, folder: Path) -> None:
    """``classes.png``: one column per class, one row per fixed noise draw."""
    images, k = model.class_grid(8)
    caption = (
        "AC-GAN: one column per class (" + ", ".join(model.class_names()) + "), one row per "
        "noise draw, fixed along the row: the class is controlled, the noise keeps the style."
    )
    save_figure(folder, "classes", images, caption, nrow=k)


def all_targets(model: Any, task: Any, folder: Path) -> None:
    """Each test input translated to every target domain or attribute edit (single-dataset
    multi-domain runs; a mask-vector run has none)."""
    if model.labels.mask:
        return
    grid, nrow, caption = translation_grid(model, task)
    save_figure(folder, "stargan_all_targets", grid, caption, nrow)


#: The figure kinds a method can declare, by name.
FIGURE_KINDS: dict[str, Callable[[Any, Any, Path], None]] = {
    "latent_tsne": latent_tsne,
    "feature_tsne": feature_tsne,
    "joint_samples": joint_samples,
    "attribute_translations": attribute_translations,
    "code_grids": code_grids,
    "code_traversals": code_traversals,
    "class_grid": class_grid,
    "all_targets": all_targets,
}


def write_figures(model: Any, task: Any, folder: Path | str) -> None:
    """Write every figure kind in ``model.figures`` for `task` into `folder`, and for any
    translator on a task with ground truth (pairs, or test files of the same name in both
    domains) ``ground_truth.png``: rows of input | translation | ground truth
    (:mod:`transynth.eval.gt_figure`).

    Raises:
        ValueError: a kind in ``model.figures`` that is not in :data:`FIGURE_KINDS`.
    """
    unknown = [k for k in model.figures if k not in FIGURE_KINDS]
    if unknown:
        raise ValueError(
            f"{model.name} declares unknown figure kinds {unknown}; accepted: "
            + ", ".join(FIGURE_KINDS)
        )
    for kind in model.figures:
        FIGURE_KINDS[kind](model, task, Path(folder))
    caps = getattr(model, "capabilities", None)
    if caps is not None and caps.translates:
        drawn = ground_truth_grid(model, task)
        if drawn is not None:
            grid, nrow, caption = drawn
            save_figure(folder, "ground_truth", grid, caption, nrow)
