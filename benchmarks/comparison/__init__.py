"""The parts of ``benchmarks/compare.py``, one concern each.

- :mod:`.workloads`: the models and the data of every cell (fixed seeds);
- :mod:`.targets`: the speed target of a cell and its PASS/MISS verdict;
- :mod:`.peers`: each operation run by hmm_core, the NumPy reference and hmmlearn;
- :mod:`.timing`: repeated wall-clock measurements and workload subsets;
- :mod:`.cells`: one timed and checked (emissions, workload, N, op) cell;
- :mod:`.limit`: the machine limit, the forward pass against a BLAS ``dgemv`` loop;
- :mod:`.environment`: the machine, its thread pools and the versions;
- :mod:`.report`: times, ratios and Markdown tables.

Every module imports its siblings relatively, so the package works both as
``benchmarks.comparison`` (asv, the tests) and as ``comparison`` when
``python benchmarks/compare.py`` runs with ``benchmarks/`` on ``sys.path``.
"""
