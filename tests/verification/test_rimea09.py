"""RiMEA 3.0 test 9 / IMO 9: two of four exits locked take 1.6-2.4 times as long."""

from sim.verification.cases import rimea09


def test_rimea09():
    outcome = rimea09()
    assert outcome.status == "pass", outcome.measured
