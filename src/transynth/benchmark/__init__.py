"""Benchmark orchestration: entries as data, runs, tables (above the public API)."""
