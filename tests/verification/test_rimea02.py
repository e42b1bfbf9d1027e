"""RiMEA 3.0 test 2: walking speed up stairs (length along the slope / speed, +/- 5 %)."""

from sim.verification.cases import rimea02


def test_rimea02():
    outcome = rimea02()
    assert outcome.status == "pass", outcome.measured
