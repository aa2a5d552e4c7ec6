"""Benchmarks of hmm_core: the asv suite (bench_core.py, bench_emissions.py), compare.py
(its parts in comparison/), compare_emissions.py, compare_sparse.py and memory.py."""
