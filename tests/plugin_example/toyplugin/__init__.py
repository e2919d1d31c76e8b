"""A method from outside transynth, as a user's package would hold it (see docs/CONTRIBUTING.md)."""
