"""RiMEA 3.0 test 12: congestion before the bottleneck, not at the final exit."""

from sim.verification.cases import rimea12


def test_rimea12():
    outcome = rimea12()
    assert outcome.status == "documented", outcome.measured
