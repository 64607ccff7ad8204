"""Benchmarks of the billing back end: `make bench` (or `python -m bench [--smoke]`); see bench/README.md."""
