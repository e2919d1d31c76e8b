"""Paired crops of the colour photos bundled with scikit-image, scikit-learn and matplotlib.

The photos are split by PHOTO, not by crop: test crops come only from photos that no training
crop was taken from (:data:`TEST_PHOTOS`), so a test score measures generalisation to unseen
scenes. The two views of scikit-image's stereo motorcycle are the same scene and both train.
Scientific images (hubble_deep_field, retina, immunohistochemistry) are left out: most of their
crops are near-uniform dark fields, and they are not photos of scenes.

Crops are square, at several scales (side drawn from :data:`CROP_SIDES`, capped by the photo),
at seeded positions, downscaled with LANCZOS; a crop whose luminance standard deviation is below
:data:`MIN_STD` (sky, wall, blur) is redrawn, since its edge map is empty. The A renderings
(:func:`edges_of`, :func:`gray_of`) are pure functions of the B crop.

Identity baselines on the 600 test crops (the input returned unchanged, transynth.eval.metrics):
``photo-edges2color`` 5.12 dB PSNR / 0.196 SSIM (white paper vs photo: any colour model beats
it, so also compare with L1-only); ``photo-gray2color`` 19.57 dB / 0.830 (hard to beat by 3 dB).
"""

from __future__ import annotations

import functools
import hashlib
import os
import warnings

import numpy as np
from PIL import Image

from .photos import as_rgb

#: Photos crops are taken from, in a fixed order; name -> where it comes from.
SOURCES = {
    "astronaut": "skimage",
    "chelsea": "skimage",
    "rocket": "skimage",
    "motorcycle_left": "skimage",
    "motorcycle_right": "skimage",
    "coffee": "skimage",
    "china": "sklearn",
    "flower": "sklearn",
    "grace_hopper": "matplotlib",
}
TEST_PHOTOS = ("coffee", "china")
TRAIN_PHOTOS = tuple(p for p in SOURCES if p not in TEST_PHOTOS)
CROP_SIDES = (64, 96, 128, 192, 256)
TRAIN_CROPS_PER_PHOTO = 500  # 7 photos -> 3,500 train crops
TEST_CROPS_PER_PHOTO = 300  # 2 photos -> 600 test crops
MIN_STD = 12.0  # of 255: flatter crops are redrawn
CANNY_SIGMA = 1.0  # at the output size (64 px): fine edges, little texture noise
SEED = 20170721  # pix2pix's CVPR date


@functools.cache
def load_photo(name: str) -> np.ndarray:
    """The bundled photo `name` (a key of :data:`SOURCES`) as uint8 (H, W, 3), read-only."""
    if name not in SOURCES:
        raise ValueError(f"unknown bundled photo {name!r}; known: {', '.join(SOURCES)}")
    source = SOURCES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if source == "skimage":
            import skimage.data

            if name.startswith("motorcycle_"):
                left, right, _ = skimage.data.stereo_motorcycle()
                img = left if name == "motorcycle_left" else right
            else:
                img = getattr(skimage.data, name)()
        elif source == "sklearn":
            from sklearn.datasets import load_sample_image

            img = load_sample_image(f"{name}.jpg")
        else:
            import matplotlib

            path = os.path.join(matplotlib.get_data_path(), "sample_data", f"{name}.jpg")
            with Image.open(path) as im:
                img = np.asarray(im.convert("RGB"))
    out = as_rgb(img)
    out.setflags(write=False)
    return out


def photo_digest(name: str) -> str:
    """sha1 of a photo's pixels: proves train and test photos differ (tests) and keys caches."""
    return hashlib.sha1(load_photo(name).tobytes()).hexdigest()


def crops(name: str, count: int, size: int, seed: int = SEED) -> np.ndarray:
    """`count` seeded square crops of photo `name`, uint8 (count, size, size, 3).

    The seed is combined with the photo's name, so adding a photo changes no other photo's crops.
    """
    photo = load_photo(name)
    h, w = photo.shape[:2]
    key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big")
    rng = np.random.default_rng([seed, key])
    gray = np.asarray(Image.fromarray(photo).convert("L"), dtype=np.float32)
    out = np.empty((count, size, size, 3), dtype=np.uint8)
    for i in range(count):
        for _ in range(100):
            side = min(int(rng.choice(CROP_SIDES)), h, w)
            y, x = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
            if gray[y : y + side, x : x + side].std() >= MIN_STD:
                break
        crop = Image.fromarray(np.ascontiguousarray(photo[y : y + side, x : x + side]))
        if side != size:
            crop = crop.resize((size, size), Image.LANCZOS)
        out[i] = np.asarray(crop)
    return out


def gray_of(rgb: np.ndarray) -> np.ndarray:
    """ITU-R 601 luminance (PIL's "L") repeated to 3 channels: uint8 (N, H, W, 3)."""
    lum = [np.asarray(Image.fromarray(im).convert("L")) for im in rgb]
    return np.repeat(np.stack(lum)[..., None], 3, axis=3)


def edges_of(rgb: np.ndarray) -> np.ndarray:
    """Canny edges of the luminance (sigma :data:`CANNY_SIGMA`, scikit-image's default
    thresholds) drawn black on white, 3 channels: uint8 (N, H, W, 3)."""
    from skimage.feature import canny

    lum = gray_of(rgb)[..., 0].astype(np.float64) / 255.0
    edges = np.stack([canny(g, sigma=CANNY_SIGMA) for g in lum])
    out = np.where(edges, 0, 255).astype(np.uint8)
    return np.repeat(out[..., None], 3, axis=3)


@functools.lru_cache(maxsize=2)
def split_crops(size: int) -> dict[str, list[tuple[str, np.ndarray]]]:
    """{"train", "test"}: [(file stem, uint8 (size, size, 3) crop)], photos split as documented.

    Memoised: the edges and gray tasks share their crops.
    """
    out: dict[str, list[tuple[str, np.ndarray]]] = {"train": [], "test": []}
    for split, photos, n in (
        ("train", TRAIN_PHOTOS, TRAIN_CROPS_PER_PHOTO),
        ("test", TEST_PHOTOS, TEST_CROPS_PER_PHOTO),
    ):
        for p in photos:
            out[split].extend((f"{p}-{i:04d}", c) for i, c in enumerate(crops(p, n, size)))
    return out
