"""Datasets prepared from data bundled inside installed packages (no downloads)."""
