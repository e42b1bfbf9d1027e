"""NIST TN 1822 Verif.2.10: one slower occupant lengthens the evacuation."""

import pytest

from sim.verification.cases import nist210


@pytest.mark.xfail(strict=True, reason="occupants have no body size; a slow occupant near the door is out before the queue clears")
def test_nist210():
    outcome = nist210()
    assert outcome.status == "pass", outcome.measured
