"""RiMEA 3.0 test 14: route choice over floors (documentation only)."""

from sim.verification.cases import rimea14


def test_rimea14():
    outcome = rimea14()
    assert outcome.status == "documented", outcome.measured
