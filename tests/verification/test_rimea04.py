"""RiMEA 3.0 test 4: fundamental diagram against Weidmann (documentation only)."""

import pytest

from sim.verification.cases import rimea04


@pytest.mark.slow
def test_rimea04(tmp_path):
    outcome = rimea04(tmp_path)
    assert outcome.status == "documented", outcome.measured
