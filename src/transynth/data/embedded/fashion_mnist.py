"""Fashion-MNIST (Xiao et al. 2017) read from a local install, e.g. Debian's dataset-fashion-mnist.

The four IDX files ``{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz`` are read from
``$TRANSYNTH_FASHION_MNIST_DIR`` or, by default, ``/usr/share/datasets/fashion-mnist`` (where
``apt-get install dataset-fashion-mnist`` puts them). Nothing is downloaded. The splits are the
shipped ones (60,000 train / 10,000 test, 28x28 gray, 10 classes), not subsampled; the arrays are
read from the files on first use in a process (about a second) and kept in memory, not copied into
the transynth cache.
"""

from __future__ import annotations

import gzip
import os
import pathlib

import numpy as np

VERSION = 1
DEFAULT_DIR = "/usr/share/datasets/fashion-mnist"
ENV_VAR = "TRANSYNTH_FASHION_MNIST_DIR"
CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
FILES = {
    "x_train": "train-images-idx3-ubyte.gz",
    "y_train": "train-labels-idx1-ubyte.gz",
    "x_test": "t10k-images-idx3-ubyte.gz",
    "y_test": "t10k-labels-idx1-ubyte.gz",
}
IMAGE_MAGIC = 0x00000803  # unsigned bytes, 3 dimensions
LABEL_MAGIC = 0x00000801  # unsigned bytes, 1 dimension

_MEMO: dict[tuple, dict[str, np.ndarray]] = {}


def data_dir() -> pathlib.Path:
    """``$TRANSYNTH_FASHION_MNIST_DIR`` or ``/usr/share/datasets/fashion-mnist``."""
    return pathlib.Path(os.environ.get(ENV_VAR) or DEFAULT_DIR).expanduser()


def missing_message() -> str | None:
    """None when all four files are present, else why the domain is unavailable."""
    folder = data_dir()
    missing = [f for f in FILES.values() if not (folder / f).is_file()]
    if not missing:
        return None
    return (
        f"Fashion-MNIST is not installed: {folder} lacks {', '.join(missing)}. Install it with "
        f"`apt-get install dataset-fashion-mnist` (Debian/Ubuntu), or set {ENV_VAR} to a folder "
        "holding the four original .gz IDX files"
    )


def read_idx(path: pathlib.Path, magic: int) -> np.ndarray:
    """An IDX array of unsigned bytes (gzip-compressed), checked against its header."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    if len(data) < 4:
        raise ValueError(f"{path} is not an IDX file (too short)")
    found = int.from_bytes(data[:4], "big")
    if found != magic:
        raise ValueError(f"{path}: IDX magic {found:#010x}, expected {magic:#010x}")
    ndim = magic & 0xFF
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    offset = 4 + 4 * ndim
    expected = int(np.prod(dims))
    if len(data) - offset != expected:
        raise ValueError(
            f"{path}: header says {dims} ({expected} bytes), found {len(data) - offset}"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=offset).reshape(dims).copy()


def build() -> dict[str, np.ndarray]:
    """x_train (60000, 28, 28, 1), y_train, x_test (10000, 28, 28, 1), y_test (int64), as shipped.

    Raises:
        FileNotFoundError: the files are absent (names the folder and how to install them).
        ValueError: a file is not the expected IDX array, or images and labels disagree.
    """
    message = missing_message()
    if message is not None:
        raise FileNotFoundError(message)
    folder = data_dir()
    paths = {k: folder / f for k, f in FILES.items()}
    key = tuple((str(p.resolve()), p.stat().st_size, p.stat().st_mtime_ns) for p in paths.values())
    if key not in _MEMO:
        out = {}
        for split in ("train", "test"):
            x = read_idx(paths[f"x_{split}"], IMAGE_MAGIC)
            y = read_idx(paths[f"y_{split}"], LABEL_MAGIC).astype(np.int64)
            if x.ndim != 3 or len(x) != len(y):
                raise ValueError(
                    f"{folder}: {split} has images of shape {x.shape} but {len(y)} labels"
                )
            if y.size and int(y.max()) >= len(CLASSES):
                raise ValueError(f"{folder}: {split} labels exceed the {len(CLASSES)} classes")
            out[f"x_{split}"], out[f"y_{split}"] = x[..., None], y
        _MEMO.clear()  # one copy (about 55 MB) at most
        _MEMO[key] = out
    return _MEMO[key]
