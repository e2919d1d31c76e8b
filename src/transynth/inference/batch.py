"""Translating files and nested folders: sub-folders and names kept, resumable, counted."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from transynth.data.imageio import is_image_file, load_image
from transynth.fileio import atomic_path
from transynth.inference.tiling import check_tiling, translate_tiled


@dataclass
class BatchResult:
    """What a batch translation did: files written, files skipped because their output was
    already there, and files that could not be read (with the reason)."""

    done: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)

    def summary(self, out: Path) -> str:
        text = (
            f"translated {len(self.done)} image(s), skipped {len(self.skipped)} already written,"
            f" into {out}"
        )
        if self.failed:
            text += f"; {len(self.failed)} failed:\n" + "\n".join(f"  {e}" for _, e in self.failed)
        return text


def output_suffix(target: str, condition: dict[str, Any]) -> str:
    """What an output's name adds to its input's stem: the direction or target, then the label
    and attribute settings (e.g. ``AtoB``, ``toB_label3``, ``mnist-m_inverted-1``)."""
    suffix = target
    if condition.get("label") is not None:
        suffix += f"_label{condition['label']}"
    for key, value in condition.get("attributes", {}).items():
        suffix += f"_{key}-{value}"
    return suffix


def _inside(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


def plan_outputs(inputs: list[str | Path], out: str | Path, suffix: str) -> list[tuple[Path, Path]]:
    """(input file, output file) pairs: a file goes to OUT/STEM_SUFFIX.png, an image found in
    a folder to the same sub-folder of OUT. Images already under OUT are left out, so an output
    folder inside an input folder is not read back as input.

    Raises:
        FileNotFoundError: an input that does not exist, or a folder with no image.
        ValueError: two inputs that would be written to the same file (e.g. a.png and a.jpg).
    """
    out = Path(out)
    pairs: list[tuple[Path, Path]] = []
    for item in map(Path, inputs):
        if item.is_dir():
            found = sorted(
                p
                for p in item.rglob("*")
                if is_image_file(p) and p.is_file() and not _inside(p, out)
            )
            if not found:
                raise FileNotFoundError(f"folder {item} holds no images (png, jpg, bmp, tif, ...)")
            for path in found:
                target = out / path.relative_to(item).parent / f"{path.stem}_{suffix}.png"
                pairs.append((path, target))
        elif item.is_file():
            pairs.append((item, out / f"{item.stem}_{suffix}.png"))
        else:
            raise FileNotFoundError(f"input {item} does not exist")
    seen: dict[Path, Path] = {}
    for source, target in pairs:
        if target in seen:
            raise ValueError(
                f"{seen[target]} and {source} would both be written to {target}; rename one or "
                "translate them into different --out folders"
            )
        seen[target] = source
    return pairs


def translate_files(
    model: Any,
    pairs: list[tuple[Path, Path]],
    direction: str = "AtoB",
    *,
    tile: int | None = None,
    overlap: int = 0,
    overwrite: bool = False,
    progress: bool = True,
    native: bool = False,
    **condition: Any,
) -> BatchResult:
    """Translate each (input, output) pair, writing every output atomically.

    An output that exists already is skipped (so an interrupted run resumes where it stopped)
    unless `overwrite`. An unreadable input is recorded in `failed` and the rest go on; errors
    of the translation itself (a bad direction or condition) are raised.

    Args:
        model: a loaded method.
        pairs: from `plan_outputs`.
        direction: as in `Method.translate`.
        tile: translate in tiles of this side (see `translate_tiled`); None: whole images.
        overlap: overlap of the tiles.
        overwrite: translate again files whose output exists.
        progress: show a progress bar on stderr.
        native: translate at each image's own resolution instead of at the trained scale (the
            default: see `Method.translate`); refused for a generator with a fixed size.
        condition: the method's conditions, e.g. ``label=3``.
    """
    from tqdm import tqdm

    from transynth.models.scale import check_native

    model.check_direction(direction)
    if native:
        check_native(model, direction)  # before anything is read or written
    if tile is not None:
        check_tiling(tile, overlap)
    result = BatchResult()
    bar = tqdm(pairs, unit="image", disable=not progress, file=sys.stderr, dynamic_ncols=True)
    for source, target in bar:
        if target.exists() and not overwrite:
            result.skipped.append(source)
            continue
        try:
            image = load_image(source)
        except ValueError as err:
            result.failed.append((source, str(err)))
            continue
        if tile is None:
            translated = model.translate(image, direction=direction, native=native, **condition)
        else:  # a second bar counts the tiles of the image (one large image can take minutes)
            tiles = tqdm(unit="tile", leave=False, disable=not progress, file=sys.stderr)

            def tile_done(done: int, total: int, tiles: tqdm = tiles) -> None:
                tiles.total = total
                tiles.update(done - tiles.n)

            translated = translate_tiled(
                model,
                image,
                direction,
                tile=tile,
                overlap=overlap,
                progress=tile_done,
                native=native,
                **condition,
            )
            tiles.close()
        with atomic_path(target) as tmp:
            translated.save(tmp, format="PNG")
        result.done.append(source)
        bar.set_postfix(done=len(result.done), skipped=len(result.skipped), refresh=False)
    bar.close()
    return result
