"""Export a trained method as a stand-alone graph: PyTorch's ``.pt2`` (torch.export) or ONNX.

The exported file needs neither transynth nor the run folder: a translator maps images to
images, a generator from noise maps its latent inputs (noise, class, codes) to images. Beside it,
``FILE.json`` states the contract: the inputs and outputs by name, their shapes, dtypes and value
ranges, the priors of the latents, and what the export verified.

Every export is checked before it is kept: the written file is loaded back (``torch.export.load``
or onnxruntime) and run on example inputs, whose outputs must match the method's own within
``tolerance``; the batch size is free (checked at 1 and at a larger batch), and the image sides of
a translator are free where a second size also matches, else fixed to the trained size. A failed
check leaves nothing behind.
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from transynth.fileio import atomic_path, atomic_write_text

FORMATS = {".pt2": "pt2", ".onnx": "onnx"}
#: Largest difference allowed between the exported graph and the method (images in [-1, 1]).
TOLERANCE = 1e-4


class ExportError(ValueError):
    """The method cannot be exported as asked, or the written graph did not match it."""


@dataclass(frozen=True)
class ExportSpec:
    """What to export: a module whose forward takes and returns tensors only.

    Attributes:
        module: the graph to trace; ``module(*inputs.values())`` is the reference.
        inputs: example inputs by name, in the order of the forward arguments; dimension 0 is
            the batch.
        outputs: names of the outputs, in order.
        image_inputs: inputs whose height and width may vary (translators' images).
        contract: JSON-ready description of each input and output (shape, range, prior) and of
            what the graph computes.
    """

    module: nn.Module
    inputs: dict[str, torch.Tensor]
    outputs: tuple[str, ...]
    image_inputs: tuple[str, ...] = ()
    contract: dict[str, Any] = field(default_factory=dict)


class TranslationGraph(nn.Module):
    """``method.translate_tensor(image, direction, **condition)`` with the condition fixed."""

    def __init__(self, method: nn.Module, direction: str, condition: dict[str, Any]) -> None:
        super().__init__()
        self.method = method
        self.direction = direction
        self.condition = dict(condition)

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        (image,) = inputs  # varargs like FunctionGraph, so both take the same dynamic shapes
        return self.method.translate_tensor(image, self.direction, **self.condition).float()


class FunctionGraph(nn.Module):
    """``generate(*inputs)`` for a function of the method's networks (a generator from noise,
    a conditional generator); `method` is held so that its weights are the graph's
    parameters."""

    def __init__(self, method: nn.Module, generate: Callable[..., Any]) -> None:
        super().__init__()
        self.method = method
        self.generate = generate

    def forward(self, *inputs: torch.Tensor) -> Any:
        out = self.generate(*inputs)
        return tuple(o.float() for o in out) if isinstance(out, tuple) else out.float()


def noise_prior(kind: str) -> str:
    """How a noise input is drawn in training, for the contract."""
    return "uniform(-1, 1)" if kind == "uniform" else "normal(0, 1)"


IMAGE_OUTPUT = {"range": [-1.0, 1.0], "layout": "NCHW"}


def format_of(path: Path, fmt: str | None) -> str:
    """The export format from `fmt` or the file suffix; an unknown one is an error."""
    if fmt is None:
        fmt = FORMATS.get(path.suffix.lower())
        if fmt is None:
            raise ExportError(
                f"cannot tell the export format of {path}: name it FILE.pt2 or FILE.onnx, or pass "
                f"the format ({', '.join(FORMATS.values())})"
            )
    if fmt not in FORMATS.values():
        raise ExportError(f"format {fmt!r}; accepted: {', '.join(FORMATS.values())}")
    named = FORMATS.get(path.suffix.lower())
    if named is not None and named != fmt:
        raise ExportError(f"{path} names a {named} file but the format asked is {fmt}")
    return fmt


def _dynamic_shapes(spec: ExportSpec, spatial: bool) -> tuple[tuple[dict[int, Any], ...]]:
    """Per input, in order: the batch free, and the sides of image inputs with `spatial`
    (nested once: the graphs take their inputs as one varargs argument)."""
    try:
        from torch.export import Dim

        auto = Dim.AUTO
    except (ImportError, AttributeError):
        raise ExportError(f"export needs torch >= 2.6 (this is {torch.__version__})") from None
    # One Dim object for every input's dimension 0: the graph knows the batches are equal.
    batch = Dim("batch", min=1, max=1 << 16)
    shapes = []
    for name in spec.inputs:
        dims: dict[int, Any] = {0: batch}
        if spatial and name in spec.image_inputs:
            dims.update({2: auto, 3: auto})
        shapes.append(dims)
    return (tuple(shapes),)


def _outputs(result: Any) -> tuple[torch.Tensor, ...]:
    return tuple(result) if isinstance(result, (tuple, list)) else (result,)


def _max_difference(got: tuple[Any, ...], want: tuple[torch.Tensor, ...]) -> float:
    if len(got) != len(want):
        raise ExportError(f"the graph returned {len(got)} outputs, the method {len(want)}")
    worst = 0.0
    for g, w in zip(got, want, strict=True):
        g = torch.as_tensor(g).float()
        if g.shape != w.shape:
            raise ExportError(
                f"the graph returned shape {tuple(g.shape)}, the method {tuple(w.shape)}"
            )
        worst = max(worst, float((g - w.float()).abs().max()))
    return worst


def probe_inputs(spec: ExportSpec, batch: int, side: int | None) -> dict[str, torch.Tensor]:
    """The example inputs at another batch size (and image side), drawn like the examples."""
    gen = torch.Generator().manual_seed(batch * 1000 + (side or 0))
    probes = {}
    for name, x in spec.inputs.items():
        shape = [batch, *x.shape[1:]]
        if side is not None and name in spec.image_inputs:
            shape[2:4] = [side, side]
        if x.dtype.is_floating_point:
            lo, hi = float(x.min()), float(x.max())
            probes[name] = (lo + (hi - lo) * torch.rand(shape, generator=gen)).to(x.device)
        else:  # integer inputs (classes, categorical codes): values seen in the example
            pick = torch.randint(0, len(x), (batch,), generator=gen)
            probes[name] = x[pick.to(x.device)].clone()
    return probes


@torch.no_grad()
def reference_outputs(
    spec: ExportSpec, inputs: dict[str, torch.Tensor]
) -> tuple[torch.Tensor, ...]:
    """The method's outputs for `inputs` (float32, on the CPU): what the graph must reproduce."""
    return tuple(o.detach().float().cpu() for o in _outputs(spec.module(*inputs.values())))


def _trace(spec: ExportSpec, spatial: bool) -> torch.export.ExportedProgram:
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer chatter about unbacked sizes and deprecations
        return torch.export.export(
            spec.module,
            tuple(spec.inputs.values()),
            dynamic_shapes=_dynamic_shapes(spec, spatial),
            strict=False,
        )


class _Runner:
    """Runs a written file: the exported program, or an onnxruntime session."""

    def __init__(self, path: Path, fmt: str, input_names: list[str]) -> None:
        self.names = input_names
        if fmt == "pt2":
            self.program = torch.export.load(str(path)).module()
            self.session = None
        else:
            ort = _onnx_modules()[1]
            self.session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])

    def __call__(self, inputs: dict[str, torch.Tensor]) -> tuple[Any, ...]:
        if self.session is None:
            with torch.no_grad():
                return tuple(o.cpu() for o in _outputs(self.program(*inputs.values())))
        feed = {name: inputs[name].cpu().numpy() for name in self.names}
        return tuple(torch.from_numpy(o) for o in self.session.run(None, feed))


def _onnx_modules() -> tuple[Any, Any]:
    try:
        import onnx
        import onnxruntime
        import onnxscript  # noqa: F401 - torch's ONNX exporter needs it
    except ImportError as err:
        raise ExportError(
            f"ONNX export needs onnx, onnxscript and onnxruntime ({err.name} is missing): "
            "pip install 'transynth[export]', or export FILE.pt2 instead"
        ) from None
    return onnx, onnxruntime


def _write(program: torch.export.ExportedProgram, spec: ExportSpec, tmp: Path, fmt: str) -> None:
    if fmt == "pt2":
        torch.export.save(program, str(tmp))
        return
    _onnx_modules()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        onnx_program = torch.onnx.export(
            program,
            input_names=list(spec.inputs),
            output_names=list(spec.outputs),
            dynamo=True,
            verbose=False,
        )
    onnx_program.save(str(tmp))


def _checks(spec: ExportSpec, image_size: int, spatial: bool) -> list[dict[str, torch.Tensor]]:
    """The inputs every written file must reproduce: the examples, batch 1, batch 3 and (with
    free sides) batch 2 at a second, larger image side."""
    checks = [spec.inputs, probe_inputs(spec, 1, None), probe_inputs(spec, 3, None)]
    if spatial:
        checks.append(probe_inputs(spec, 2, 2 * image_size))
    return checks


def _takes_other_sides(
    program: torch.export.ExportedProgram, spec: ExportSpec, image_size: int, tolerance: float
) -> bool:
    """Whether the traced graph reproduces the method at twice the trained side: tracing may
    have fixed the sides (a guard fails) or the method may not take other sides at all."""
    probe = probe_inputs(spec, 2, 2 * image_size)
    try:
        with torch.no_grad():
            got = tuple(o.cpu() for o in _outputs(program.module()(*probe.values())))
        return _max_difference(got, reference_outputs(spec, probe)) <= tolerance
    except Exception:  # noqa: BLE001 - any failure at the other size means: keep it fixed
        return False


def _verify(run: Any, checks: list[dict[str, torch.Tensor]], spec: ExportSpec) -> float:
    worst = 0.0
    for inputs in checks:
        worst = max(worst, _max_difference(run(inputs), reference_outputs(spec, inputs)))
    return worst


def export_spec(
    method: Any, path: Path, spec: ExportSpec, fmt: str | None = None, tolerance: float = TOLERANCE
) -> dict[str, Any]:
    """Trace `spec`, write it to `path` (atomically), check the written file, and write the
    contract beside it as ``path.with_suffix(".json")``. Returns the contract."""
    path = Path(path)
    fmt = format_of(path, fmt)
    start = time.perf_counter()
    spatial = bool(spec.image_inputs)
    program = _trace(spec, spatial)
    if spatial and not _takes_other_sides(program, spec, method.image_size, tolerance):
        spatial = False
        program = _trace(spec, False)
    checks = _checks(spec, method.image_size, spatial)
    with atomic_path(path) as tmp:
        _write(program, spec, tmp, fmt)
        difference = _verify(_Runner(tmp, fmt, list(spec.inputs)), checks, spec)
        if not difference <= tolerance:
            raise ExportError(
                f"the exported {fmt} graph differs from {method.name} by {difference:.3g} "
                f"(> {tolerance:g}); {path} was not written"
            )
    contract = _contract(method, spec, fmt, spatial, difference, checks)
    contract["export_seconds"] = round(time.perf_counter() - start, 2)
    atomic_write_text(path.with_suffix(".json"), json.dumps(contract, indent=2) + "\n")
    return contract


def _contract(
    method: Any,
    spec: ExportSpec,
    fmt: str,
    spatial: bool,
    difference: float,
    checks: list[dict[str, torch.Tensor]],
) -> dict[str, Any]:
    size = method.image_size
    inputs = []
    for name, x in spec.inputs.items():
        shape: list[Any] = ["batch", *x.shape[1:]]
        if name in spec.image_inputs:
            shape[2:4] = ["height", "width"] if spatial else [size, size]
        entry = {"name": name, "shape": shape, "dtype": str(x.dtype).removeprefix("torch.")}
        entry.update(spec.contract.get("inputs", {}).get(name, {}))
        inputs.append(entry)
    outputs = [
        {"name": name, **spec.contract.get("outputs", {}).get(name, {})} for name in spec.outputs
    ]
    cfg = method.run_config
    return {
        "format": fmt,
        "method": method.name,
        "task": cfg.data.task if cfg is not None else None,
        "trained_steps": method.trained_steps,
        "image_size": size,
        **{k: v for k, v in spec.contract.items() if k not in ("inputs", "outputs")},
        "inputs": inputs,
        "outputs": outputs,
        "sides": (
            "free (checked at the trained size and at twice it)"
            if spatial
            else ("fixed at the trained size" if spec.image_inputs else None)
        ),
        "verified": {
            "max_abs_difference": difference,
            "batches": sorted({int(next(iter(c.values())).shape[0]) for c in checks}),
            "against": "the method's own outputs in eval mode, float32",
        },
    }
