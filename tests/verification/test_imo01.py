"""IMO test 1 / NIST 2.1: set walking speed in a corridor (40 s at 1 m/s)."""

from sim.verification.cases import imo01


def test_imo01():
    outcome = imo01()
    assert outcome.status == "pass", outcome.measured
