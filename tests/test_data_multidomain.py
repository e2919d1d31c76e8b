"""The embedded multi-domain (digit-styles) and multi-attribute (digit-attributes) tasks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import default_collate

import transynth.data as D
from transynth.data import SampleIndex
from transynth.data.multidomain import (
    ATTRIBUTES,
    STYLE_DOMAINS,
    TEXTURE_LEVEL,
    _dilate,
    render_digits,
)

SIZE = 16  # small and fast; the rendering is checked at its native 28 px below


@pytest.fixture(scope="module")
def styles():
    D.prepare(["digit-styles"])
    return D.build_task("digit-styles", SIZE)


@pytest.fixture(scope="module")
def attributes():
    return D.build_task("digit-attributes", SIZE)


def test_listed_with_their_kinds():
    listed = {d["name"]: d for d in D.list_datasets()}
    assert listed["digit-styles"]["kind"] == "domains"
    assert listed["digit-attributes"]["kind"] == "attributes"
    assert listed["digit-styles"]["ready"]


def test_digit_styles_items_shapes_and_domains(styles):
    assert styles.kind == "domains"
    assert [d.name for d in styles.domains] == list(STYLE_DOMAINS)
    assert all(d.channels == 3 and d.num_classes == 10 for d in styles.domains)
    item = styles.train[SampleIndex(0, (0,))]
    assert set(item) == {"image", "domain", "label"}
    assert item["image"].shape == (3, SIZE, SIZE)
    assert -1 <= item["image"].min() and item["image"].max() <= 1
    batch = default_collate([styles.train[i] for i in range(0, len(styles.train), 3000)])
    assert batch["domain"].dtype == torch.int64
    # each domain keeps its own split: the test images of mnist are mnist's test split
    x, y = styles.test.domain_tensors("mnist")
    mx, my = D.load_domain("mnist", "test", SIZE)
    assert torch.equal(y, my) and torch.allclose(x, mx.expand(-1, 3, -1, -1), atol=1 / 127)
    counts = torch.bincount(styles.train.domains, minlength=4).tolist()
    assert counts == [len(styles.train.domain_tensors(k)[0]) for k in range(4)]
    assert set(styles.train.domains.unique().tolist()) == {0, 1, 2, 3}


def test_digit_attributes_items_and_names(attributes):
    assert attributes.kind == "attributes"
    assert attributes.attribute_names == ATTRIBUTES
    assert attributes.domains[0].class_names == ATTRIBUTES  # what StarGAN is built from
    item = attributes.train[SampleIndex(0, (0,))]
    assert set(item) == {"image", "attrs"}
    assert item["image"].shape == (3, SIZE, SIZE)
    a = attributes.train.attrs
    assert a.shape == (4000, 5) and set(a.unique().tolist()) == {0.0, 1.0}
    assert torch.all(a[:, :3].sum(1) == 1)  # colour is one-hot
    # every attribute value occurs often enough to learn from
    assert torch.all(a.mean(0) > 0.2) and torch.all(a.mean(0) < 0.8)


def test_tasks_are_deterministic():
    a1 = D.build_task("digit-attributes", SIZE)
    a2 = D.build_task("digit-attributes", SIZE)
    assert torch.equal(a1.train.attrs, a2.train.attrs)
    assert torch.equal(a1.test.images, a2.test.images)
    s1, s2 = D.build_task("digit-styles", SIZE), D.build_task("digit-styles", SIZE)
    assert torch.equal(s1.test.images, s2.test.images)


def test_ground_truth_rendering_is_consistent_with_the_attributes(attributes):
    test = attributes.test
    idx = torch.arange(8)
    # rendering an item with its own attributes gives back the item
    assert torch.equal(test.render(idx, test.attrs[:8], as_uint8=True), test.images[:8])
    digits = test.digits[:4]
    base = np.zeros((4, 5), dtype=np.float32)
    red = render_digits(digits, base + [1, 0, 0, 0, 0])
    blue = render_digits(digits, base + [0, 0, 1, 0, 0])
    stroke = digits > 200
    assert np.all(red[stroke][:, 0] > 200) and np.all(red[stroke][:, 2] < 60)  # red strokes
    assert np.all(blue[stroke][:, 2] > 200)  # blue strokes
    assert np.all(red[digits == 0] == 0)  # plain background
    thick = render_digits(digits, base + [1, 0, 0, 1, 0])
    assert (thick[..., 0] > 128).sum() > 1.3 * (red[..., 0] > 128).sum()  # dilated
    assert np.array_equal(thick[..., 0] > 0, _dilate(digits.astype(np.float32)) > 0)
    textured = render_digits(digits, base + [1, 0, 0, 0, 1])
    background = textured[digits == 0]
    assert set(np.unique(background[:, 1])) == {0, TEXTURE_LEVEL}  # stripes off the stroke
    full = digits == 255
    assert full.any() and np.array_equal(textured[full], red[full])  # the stroke is unchanged


def test_unknown_channels_are_refused():
    with pytest.raises(ValueError, match="RGB"):
        D.build_task("digit-styles", SIZE, channels=1)
