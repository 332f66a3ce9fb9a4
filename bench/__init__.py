"""Benchmarks: scripts that measure the product; results go to docs/benchmarks.md."""
