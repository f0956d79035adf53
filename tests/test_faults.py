"""Representative cases of the fault campaign (`python -m benchmarks.faults`, every case) run in CI: a
kill -9 while an export is written and an IMDB archive with 16 bytes flipped (the downloads' cases run
in tests/data/test_registry.py).
Each case raises `benchmarks.faults.Broken` naming the check that did not hold."""

import pytest

from benchmarks import faults


@pytest.mark.parametrize("name", ["kill_in_export", "corrupted_archive_55"])
def test_the_run_survives_with_nothing_lost(name, shared_data, tmp_path):
    shared_data("imdb"), shared_data("spa-eng")
    (case,) = [case for case in faults.CASES if case.name == name]
    print(case.run(tmp_path))
