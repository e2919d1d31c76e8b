"""`python -m transynth.cli` (as torchrun runs it)."""

import sys

from transynth.cli import main

sys.exit(main())
