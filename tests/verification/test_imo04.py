"""IMO test 4: flow through a 1 m exit does not exceed 1.33 P/s."""

import pytest

from sim.verification.cases import imo04


@pytest.mark.xfail(strict=True, reason="door flow is calibrated to ~1.45 P/(m s), between SFPE 1.3 and experiments ~1.9")
def test_imo04():
    outcome = imo04()
    assert outcome.status == "pass", outcome.measured
