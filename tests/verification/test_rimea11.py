"""RiMEA 3.0 test 11: most use the nearer exit, some the other."""

from sim.verification.cases import rimea11


def test_rimea11():
    outcome = rimea11()
    assert outcome.status == "documented", outcome.measured
