"""The image history buffer of Shrivastava et al. (CVPR'17), used by CycleGAN's discriminators."""

from __future__ import annotations

import torch


class ImagePool:
    """Keeps up to `size` previously generated images.

    `query(images)` returns a batch in which each image is, with probability 1/2 (once the pool is
    full), swapped for a random stored one that the new image then replaces. Training D on this
    history rather than only the latest generator's output reduces model oscillation (CycleGAN
    Sec. 4, pool of 50). Randomness comes from torch's global generator, whose state the trainer
    checkpoints, so a resumed run draws the same swaps.
    """

    def __init__(self, size: int) -> None:
        if size < 0:
            raise ValueError(f"pool size must be >= 0, got {size}")
        self.size = size
        self.images: list[torch.Tensor] = []

    def query(self, images: torch.Tensor) -> torch.Tensor:
        if self.size == 0:
            return images
        if self.images and self.images[0].device != images.device:  # e.g. restored on CPU
            self.images = [im.to(images.device) for im in self.images]
        out = []
        for image in images.detach():
            image = image.unsqueeze(0)
            if len(self.images) < self.size:
                self.images.append(image.clone())
                out.append(image)
            elif torch.rand(()) < 0.5:
                j = int(torch.randint(0, self.size, ()))
                out.append(self.images[j].clone())
                self.images[j] = image.clone()
            else:
                out.append(image)
        return torch.cat(out, 0)

    def state_dict(self) -> dict[str, torch.Tensor]:
        if not self.images:
            return {}
        return {"images": torch.cat(self.images, 0)}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        images = state.get("images")
        self.images = [] if images is None else [im.unsqueeze(0).clone() for im in images]
