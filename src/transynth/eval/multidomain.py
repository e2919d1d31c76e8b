"""Evaluation of multi-domain (StarGAN-style) translators on "domains" and "attributes" tasks.

Domains (:func:`evaluate_domains`), for every ordered pair (source s, target t), s != t, on up to
``max_images`` test images of s:

- ``{s}->{t}/domain_accuracy``: a domain classifier trained on the REAL training images of the
  task (their domain labels) assigns the translations to t (the paper's classification protocol
  on generated RaFD expressions);
- ``{s}->{t}/class_accuracy``: the embedded digit evaluator of t (:func:`get_evaluator`) labels
  the translations as the source digit (content kept), where t is an embedded digit domain and
  the source images carry labels;
- ``{s}->{t}/class_accuracy_relabelled``, a diagnostic: the same after the best one-to-one
  relabelling of the evaluator's classes (Hungarian). High where class_accuracy is low, the
  generator keeps the digits apart but consistently draws another one (an unpaired objective
  names no correspondence between the classes of two domains);
- averages over pairs ``domain_accuracy``, ``class_accuracy``, ``class_accuracy_relabelled`` and
  ``class_accuracy_baseline`` (the evaluator of t on the untranslated source images: what doing
  nothing scores);
  ``domain_classifier/test_accuracy`` (on the real test split) and
  ``evaluator/{t}_test_accuracy``;
- ground truth by file name (:mod:`transynth.eval.ground_truth`), where test pictures of s and
  t share file names (a domains folder drawn picture by picture): ``{s}->{t}/gt_psnr``,
  ``gt_ssim``, ``gt_l1``, their ``_identity`` baselines (the input unchanged) and ``gt_matched``,
  and their means over the pairs that have any (``gt_psnr``, ``gt_psnr_identity``, ...,
  ``gt_pairs``);
- ``{s}->{t}/checkerboard`` (:mod:`transynth.eval.checkerboard`) and its mean over pairs
  ``checkerboard``, next to ``checkerboard_real``, the mean over domains of their real test
  images.

Attributes (:func:`evaluate_attributes`): each test image is translated with every single
attribute edit that changes its label (each value of a one-hot group such as ``colour=red``, each
other attribute flipped), using the image's true label as c'. An attribute classifier trained on
the real training images (multi-label, sigmoid) reads the translations:
``attribute_accuracy`` (all attributes as targeted), ``attribute_accuracy_mean`` (per attribute),
``edited_attribute_accuracy`` (the edited attributes only). Where the task can render the ground
truth (``task.test.render`` and ``task.test.source_index``, as ``digit-attributes``): ``l1`` and
``psnr`` against it, and ``l1_baseline`` / ``psnr_baseline`` for the untranslated input. The same
per edit as ``{edit}/...``.

The domain and attribute classifiers of embedded tasks are cached in ``cache_dir()/evaluators``
(like the digit evaluators), and so are the domain classifiers of folders (keyed by the
fingerprint of their files); attribute classifiers of folders are trained on each call.
"""

from __future__ import annotations

import json
import math
import pathlib
from typing import Any

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from transynth.eval import classifier as C
from transynth.eval.checkerboard import checkerboard_share
from transynth.eval.folder_classifier import task_fingerprint
from transynth.eval.ground_truth import ground_truth_scores, name_matches
from transynth.eval.metrics import classification_accuracy, hungarian_accuracy, l1, psnr
from transynth.models.base import columns_grid
from transynth.models.stargan_labels import attribute_edits
from transynth.nn.inference import run_batched

#: Bump when the protocol of the task classifiers changes (in the cache file name).
TASK_CLASSIFIER_VERSION = 1


def _device(model: Any) -> torch.device:
    return next(model.parameters()).device


def _train_images(task: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """All training images of a domains task and their domain ids."""
    xs, ds = [], []
    for k in range(len(task.domains)):
        x, _ = task.train.domain_tensors(k)
        xs.append(x.float())
        ds.append(torch.full((len(x),), k, dtype=torch.int64))
    return torch.cat(xs), torch.cat(ds)


def _train_multilabel(
    model: C.DomainClassifier, x: torch.Tensor, y: torch.Tensor, seed: int
) -> None:
    """:func:`transynth.eval.classifier._train`'s schedule with a sigmoid (multi-label) loss."""
    t = C.TRAINING
    batch_size, lr = min(int(t["batch_size"]), len(x)), float(t["lr"])
    steps = int(
        min(max(t["epochs"] * math.ceil(len(x) / batch_size), t["min_steps"]), t["max_steps"])
    )
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.2)
    model.train()
    for _ in range(steps):
        idx = torch.randint(0, len(x), (batch_size,), generator=gen)
        loss = F.binary_cross_entropy_with_logits(model(C._random_affine(x[idx], gen)), y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    model.eval()


def task_classifier(task: Any, kind: str, seed: int = 0) -> tuple[C.DomainClassifier, float]:
    """A classifier of a task's domains (kind "domains") or attributes ("attributes"), trained on
    the real training images, and its accuracy on the real test images (per attribute, mean).

    Cached in ``cache_dir()/evaluators``: for embedded tasks by name; for other domains tasks
    (folders) by the fingerprint of their files
    (:func:`transynth.eval.folder_classifier.task_fingerprint`); attribute classifiers of
    folders are trained afresh.
    """
    from transynth.data.tasks import task_names

    channels = task.domains[0].channels
    if kind == "domains":
        x, y = _train_images(task)
        n_out = len(task.domains)
    else:
        n = len(task.train)
        items = [task.train[i] for i in range(n)]
        x = torch.stack([it["image"] for it in items]).float()
        y = torch.stack([it["attrs"] for it in items]).float()
        n_out = y.shape[1]
    stem = f"stargan-{task.name}-{kind}-{task.image_size}px-{channels}c-v{TASK_CLASSIFIER_VERSION}"
    cacheable = task.name in task_names()
    if not cacheable and kind == "domains":  # a folder: cached by what it is trained on
        purpose = f"stargan-domains-v{TASK_CLASSIFIER_VERSION}-{seed}-{sorted(C.TRAINING.items())}"
        stem += "-" + task_fingerprint(task, tuple(range(len(task.domains))), purpose)
        cacheable = True
    root = C.cache_dir() / "evaluators"
    weights, info_path = root / f"{stem}.safetensors", root / f"{stem}.json"
    model = C.DomainClassifier(channels, n_out)
    if cacheable and weights.is_file() and info_path.is_file():
        model.load_state_dict(load_file(str(weights)))
        model.eval()
        return model, float(json.loads(info_path.read_text())["test_accuracy"])
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = C.DomainClassifier(channels, n_out)
        if kind == "domains":
            C._train(model, x, y, seed=seed)
        else:
            _train_multilabel(model, x, y, seed)
    acc = _test_accuracy(model, task, kind)
    if cacheable:
        state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
        C._atomic_write(weights, lambda p: save_file(state, p))
        text = json.dumps({"task": task.name, "kind": kind, "test_accuracy": acc}) + "\n"
        C._atomic_write(info_path, lambda p: pathlib.Path(p).write_text(text))
    return model, acc


def _test_accuracy(model: C.DomainClassifier, task: Any, kind: str) -> float:
    if kind == "domains":
        xs, ds = [], []
        for k in range(len(task.domains)):
            x, _ = task.test.domain_tensors(k)
            xs.append(x)
            ds.append(torch.full((len(x),), k))
        pred = model.logits(torch.cat(xs)).argmax(1)
        return float((pred == torch.cat(ds)).float().mean())
    items = [task.test[i] for i in range(len(task.test))]
    x = torch.stack([it["image"] for it in items])
    y = torch.stack([it["attrs"] for it in items])
    return float(((model.logits(x) > 0).float() == y).float().mean())


def _generate(model: Any, x: torch.Tensor, c: torch.Tensor, batch_size: int = 128) -> torch.Tensor:
    """G(x, c) in eval mode, batched, on the model's device; CPU float32 in [-1, 1]."""
    out = run_batched(model.G, (x, c), batch_size, module=model, device=_device(model))
    return out.clamp(-1, 1)


def evaluate_domains(
    model: Any, task: Any, *, max_images: int = 300, seed: int = 0
) -> dict[str, float]:
    """Domain-classification accuracy and class preservation for every (source, target) pair."""
    from transynth.data.domains import DOMAINS
    from transynth.eval.classifier import EMBEDDED_DOMAINS, get_evaluator

    names = [d.name for d in task.domains]
    classifier, acc = task_classifier(task, "domains", seed)
    out: dict[str, float] = {"domain_classifier/test_accuracy": acc}
    dom, cls, base, relabelled = [], [], [], []
    test = [task.test.domain_tensors(k) for k in range(len(names))]
    listing = getattr(task.test, "file_names", None)
    file_names = [listing(k) if listing is not None else None for k in range(len(names))]
    gts: dict[str, list[float]] = {}
    boards = []
    for s, s_name in enumerate(names):
        x, labels = test[s]
        x, labels = x[:max_images].float(), labels[:max_images]
        if not len(x):
            continue
        s_files = file_names[s][: len(x)] if file_names[s] else None
        for t, t_name in enumerate(names):
            if t == s:
                continue
            c = model.labels.vector(0, F.one_hot(torch.full((len(x),), t), len(names)).float())
            y = _generate(model, x, c)
            d_acc = float((classifier.logits(y).argmax(1) == t).float().mean())
            out[f"{s_name}->{t_name}/domain_accuracy"] = d_acc
            dom.append(d_acc)
            boards.append(checkerboard_share(y))
            out[f"{s_name}->{t_name}/checkerboard"] = boards[-1]
            i, j = name_matches(s_files, file_names[t])
            if i:
                for k, v in ground_truth_scores(y[i], x[i], test[t][0][j].float()).items():
                    out[f"{s_name}->{t_name}/{k}"] = v
                    gts.setdefault(k, []).append(v)
            keep = labels >= 0
            if t_name in EMBEDDED_DOMAINS and keep.any():
                ev = get_evaluator(t_name, task.image_size, DOMAINS[t_name].channels, seed=seed)
                out[f"evaluator/{t_name}_test_accuracy"] = ev.test_accuracy
                pred = ev.logits(y[keep]).argmax(1)
                c_acc = classification_accuracy(pred, labels[keep])
                b_acc = classification_accuracy(ev.logits(x[keep]), labels[keep])
                r_acc = hungarian_accuracy(pred, labels[keep])
                out[f"{s_name}->{t_name}/class_accuracy"] = c_acc
                out[f"{s_name}->{t_name}/class_accuracy_baseline"] = b_acc
                out[f"{s_name}->{t_name}/class_accuracy_relabelled"] = r_acc
                cls.append(c_acc)
                base.append(b_acc)
                relabelled.append(r_acc)
    out["domain_accuracy"] = sum(dom) / len(dom)
    out["checkerboard"] = sum(boards) / len(boards)
    real = [checkerboard_share(x[:max_images].float()) for x, _ in test if len(x)]
    out["checkerboard_real"] = sum(real) / len(real)
    for k, v in gts.items():
        out["gt_pairs" if k == "gt_matched" else k] = (
            float(len(v)) if k == "gt_matched" else sum(v) / len(v)
        )
    if cls:
        out["class_accuracy"] = sum(cls) / len(cls)
        out["class_accuracy_baseline"] = sum(base) / len(base)
        out["class_accuracy_relabelled"] = sum(relabelled) / len(relabelled)
    return out


def evaluate_attributes(
    model: Any, task: Any, *, max_images: int = 500, seed: int = 0
) -> dict[str, float]:
    """Attribute accuracy of single-attribute edits, and L1/PSNR against rendered ground truth."""
    names = task.attribute_names or model.labels.sets[0].names
    classifier, acc = task_classifier(task, "attributes", seed)
    n = min(len(task.test), max_images)
    items = [task.test[i] for i in range(n)]
    x = torch.stack([it["image"] for it in items]).float()
    c_org = torch.stack([it["attrs"] for it in items]).float()
    render = getattr(task.test, "render", None)
    src = getattr(task.test, "source_index", None)
    out: dict[str, float] = {"attribute_classifier/test_accuracy": acc}
    totals: dict[str, list[float]] = {}

    def add(key: str, value: float, weight: int) -> None:
        totals.setdefault(key, []).append(value * weight)
        totals.setdefault(key + "#n", []).append(weight)

    for edit, c_trg in attribute_edits(names, c_org):
        rows = (c_trg != c_org).any(1)  # edits that change the label of the image
        if not rows.any():
            continue
        xe, te, oe = x[rows], c_trg[rows], c_org[rows]
        y = _generate(model, xe, model.labels.vector(0, te))
        pred = (classifier.logits(y) > 0).float()
        changed = te != oe
        m = {
            "attribute_accuracy": float((pred == te).all(1).float().mean()),
            "attribute_accuracy_mean": float((pred == te).float().mean()),
            "edited_attribute_accuracy": float((pred == te)[changed].float().mean()),
        }
        if render is not None and src is not None:
            gt = render(src[:n][rows], te)
            m.update(l1=l1(y, gt), psnr=psnr(y, gt), l1_baseline=l1(xe, gt))
            m["psnr_baseline"] = psnr(xe, gt)
        for k, v in m.items():
            out[f"{edit}/{k}"] = v
            add(k, v, int(rows.sum()))
    for key in [k for k in totals if not k.endswith("#n")]:
        out[key] = sum(totals[key]) / sum(totals[key + "#n"])
    rec = _generate(model, x, model.labels.vector(0, c_org))
    out["identity_l1"] = l1(rec, x)
    return out


@torch.no_grad()
def translation_grid(model: Any, task: Any, per_domain: int = 2) -> tuple[torch.Tensor, int, str]:
    """Each input translated to every target: (grid, row length, caption).

    Domains: ``per_domain`` test images of each domain, columns = input + each domain.
    Attributes: 8 test images, columns = input + each single-attribute edit.
    """

    names = [d.name for d in task.domains]
    if task.kind == "domains":
        xs = [task.test.domain_tensors(k)[0][:per_domain] for k in range(len(names))]
        x = torch.cat(xs).float()
        targets = [
            (n, model.labels.vector(0, F.one_hot(torch.full((len(x),), t), len(names)).float()))
            for t, n in enumerate(names)
        ]
        caption = (
            f"StarGAN: rows = {per_domain} test inputs of each domain ({', '.join(names)}); "
            f"columns = the input, then its translation into {', '.join(names)}"
        )
    else:
        items = [task.test[i] for i in range(min(8, len(task.test)))]
        x = torch.stack([it["image"] for it in items]).float()
        c_org = torch.stack([it["attrs"] for it in items]).float()
        attr_names = task.attribute_names or model.labels.sets[0].names
        targets = [(e, model.labels.vector(0, c)) for e, c in attribute_edits(attr_names, c_org)]
        caption = "StarGAN: rows = test inputs; columns = the input, then " + ", ".join(
            e for e, _ in targets
        )
    cols = [x] + [_generate(model, x, c) for _, c in targets]
    grid, nrow = columns_grid(cols)
    return grid, nrow, caption
