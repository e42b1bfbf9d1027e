"""IMO test 8 / NIST 2.8: time rises with counter-flow (and everyone gets out)."""

from sim.verification.cases import imo08


def test_imo08():
    outcome = imo08()
    assert outcome.status == "pass", outcome.measured
