"""RiMEA 3.0 test 7 / IMO 7: demographic speeds inside the table's bands."""

from sim.verification.cases import rimea07


def test_rimea07():
    outcome = rimea07()
    assert outcome.status == "pass", outcome.measured
