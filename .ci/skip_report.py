"""Count the skipped tests of a pytest run by reason; fail on a reason that is not an
environment CI may lack.

CI runs one configuration (a CPU machine), so a test that CI skips is skipped on every
configuration CI runs, and a skip that is not about the environment is a test that never runs
(e.g. cases of a parametrized test that do not apply, which should not be generated). The
allowed reasons name hardware or tools a machine may lack; everything else fails the check.

Usage: python .ci/skip_report.py JUNIT_XML  (from ``pytest --junitxml=JUNIT_XML``)
"""

from __future__ import annotations

import re
import sys
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict

#: Skip reasons that say what this machine lacks (regular expressions, matched from the start).
ALLOWED = (
    r"needs a CUDA device",  # tests/test_cuda.py on machines without a GPU
    r"this GPU has no bf16",  # tests/test_cuda.py on GPUs before Ampere
    r"torch\.compile on CPU builds C\+\+ kernels: no C\+\+ compiler here",
)


def skipped_reasons(junit_xml: str) -> dict[str, list[str]]:
    """{skip reason: [test ids]} of the tests skipped (not xfailed) in a JUnit XML report."""
    by_reason: dict[str, list[str]] = defaultdict(list)
    for case in ET.parse(junit_xml).getroot().iter("testcase"):
        skipped = case.find("skipped")
        if skipped is None or skipped.get("type") == "pytest.xfail":
            continue
        test_id = f"{case.get('classname')}::{case.get('name')}"
        by_reason[skipped.get("message", "").strip()].append(test_id)
    return dict(by_reason)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    try:
        by_reason = skipped_reasons(argv[0])
    except (OSError, ET.ParseError) as err:
        print(f"skip_report: cannot read the JUnit report {argv[0]}: {err}", file=sys.stderr)
        return 2
    counts = Counter({reason: len(ids) for reason, ids in by_reason.items()})
    print(f"skipped tests: {sum(counts.values())}")
    for reason, n in counts.most_common():
        print(f"  {n:4d}  {reason or '(no reason given)'}")
    refused = {r: ids for r, ids in by_reason.items() if not any(re.match(a, r) for a in ALLOWED)}
    if refused:
        print("\nskipped for a reason that is not a missing environment:", file=sys.stderr)
        for reason, ids in refused.items():
            shown = ", ".join(ids[:3]) + (f" and {len(ids) - 3} more" if len(ids) > 3 else "")
            print(f"  {reason or '(no reason given)'}: {shown}", file=sys.stderr)
        print(
            "run these tests or stop generating them (allowed: .ci/skip_report.py)", file=sys.stderr
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
