"""Hostile model files (flipped bytes, hostile JSON values, corrupted random states) and
hostile command-line counts: each refused with a clear error, in bounded time and memory."""

from _props import props
from hypothesis import given
from hypothesis import strategies as st
from test_properties_files_cli import HOSTILE_JSON, MODES, corrupt_and_load, saved_models


@props(300)
@given(saved_models(), st.data())
def test_every_corrupted_model_file_raises_a_value_error_naming_it(case, data):
    """Flipped bytes anywhere (ZIP headers and directory included), every hostile JSON
    value (huge integers, a non-boolean end_state in a nested model), and corrupted
    random states (arrays and JSON)."""
    corrupt_and_load(case, data, modes=MODES + ("flip", "flip", "flip"),
                     json_values=HOSTILE_JSON, random_state=True)


@props(5)
@given(st.sampled_from(["99999999999999999999", str(2**62), "10000000000"]))
def test_cli_sample_refuses_a_huge_number_of_sequences_up_front(count):
    """`sample --sequences 1e20` builds 1e20 sequence ids before any check: it must fail
    fast (exit 1 or 2) instead of exhausting the memory."""
    import os
    import tempfile

    import numpy as np
    from _props import memory_limit, time_limit
    from test_properties_files_cli import _run_cli, _write_inputs

    with tempfile.TemporaryDirectory() as tmp:
        _write_inputs(tmp, np.random.RandomState(0))
        model = os.path.join(tmp, "m.npz")
        assert _run_cli(["fit", os.path.join(tmp, "in.fa"), "--alphabet", "dna", "-n", "2",
                         "--n-iter", "2", "-o", model, "-q"])[0] == 0
        with time_limit(5), memory_limit(500_000_000):
            status, _, err = _run_cli(["sample", model, "--sequences", count, "-n", "1",
                                       "-o", os.path.join(tmp, "s.csv")])
        assert status in (1, 2) and "out of memory" not in err, (status, err)
