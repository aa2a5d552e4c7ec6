"""Benchmarks of hmm_core: the asv suite (bench_core.py) and compare.py."""
