"""Which part of a trained CDRD / E-CDRD (or UNIT) reads the real target digits worse than its
baseline.

CDRD classifies a real target image x_T as D_C(D_T(x_T)): the target-specific first layer(s),
then the shared trunk and attribute head. The source-only baseline of the same run, C_src, reads
it with layers trained on source images only. This prints, on the target TEST split, the
attribute head reached through D_T (the paper's classifier, ``target_test_accuracy``), the same
head reached through the SOURCE layers D_S, and C_src: if the head through D_S reads the target
better than through D_T, the target-specific layers are where the run loses accuracy; what is
left between D_S's figure and C_src's is what training the shared trunk and head on generated
images cost. For a UNIT run the same three readings are D_B's private layers + shared trunk +
class head (UNIT's classifier), D_A's private layers + the same trunk and head, and the
source-only baseline S.

    OMP_NUM_THREADS=1 python benchmarks/cdrd_head_paths.py RUN [RUN ...]
"""

from __future__ import annotations

import argparse

import torch

import transynth
from transynth.data.domains import load_domain


@torch.no_grad()
def head_paths(run: str) -> dict[str, float]:
    model = transynth.load(run)
    model.eval()
    x, y = load_domain(model.domains[1].name, "test", model.image_size)

    def accuracy(logits: torch.Tensor) -> float:
        return float((logits.argmax(1).cpu() == y).float().mean())

    # The method's own readers (they match channels and size to the layers they feed).
    return {
        "head_through_D_T": accuracy(model.classify(x, 1)),
        "head_through_D_S": accuracy(model.classify(x, 0)),
        "source_only": accuracy(model.source_only_logits(x)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="+")
    for run in parser.parse_args().runs:
        row = head_paths(run)
        print(run, "  ".join(f"{k} {v:.1%}" for k, v in row.items()))


if __name__ == "__main__":
    main()
