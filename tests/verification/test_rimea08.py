"""RiMEA 3.0 test 8: parameter analysis in a three-floor building (documentation only)."""

from sim.verification.cases import rimea08


def test_rimea08():
    outcome = rimea08()
    assert outcome.status == "documented", outcome.measured
