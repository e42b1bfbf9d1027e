"""Comparisons over seeds, resuming, the report, the flow bound, exports and animations."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from sim.batch import make_jobs, run_jobs
from sim.compare import compare, criticality, percentile
from sim.flowbound import evacuation_lower_bound
from sim.model import EvacuationModel
from sim.scenario import list_variants, load_scenario

ROOT = Path(__file__).resolve().parents[1]
NURSING = ROOT / "scenarios" / "nursing_home.toml"


@pytest.fixture(scope="module")
def nursing_comparison(tmp_path_factory):
    out = tmp_path_factory.mktemp("cmp")
    result = compare(NURSING, ["rear_open", "rear_locked"], 4, 1, out, progress=False)
    return out, result


def test_comparison_is_deterministic_whatever_the_workers(nursing_comparison, tmp_path):
    out, result = nursing_comparison
    again = compare(NURSING, ["rear_open", "rear_locked"], 4, 2, tmp_path, progress=False)
    for a, b in zip(result["variants"], again["variants"]):
        assert a["evacuation_time_s"] == b["evacuation_time_s"]
        assert a["exit_usage_mean"] == b["exit_usage_mean"]
    assert result["headlines"] == again["headlines"]


def test_report_numbers_match_the_run_summaries(nursing_comparison):
    out, result = nursing_comparison
    doc = json.loads((out / "comparison.json").read_text())
    assert doc["schema"] == "drillsim.comparison/1" and doc["seeds"] == [1, 2, 3, 4]
    html = (out / "report.html").read_text()
    for st in doc["variants"]:
        runs = [json.loads((ROOT / r["summary"]).read_text() if not Path(r["summary"]).is_absolute()
                           else Path(r["summary"]).read_text())
                for r in doc["runs"] if r["label"] == st["label"]]
        times = [r["evacuation_time_s"] if r["evacuation_time_s"] is not None else math.inf
                 for r in runs]
        assert st["evacuation_time_s"] == [r["evacuation_time_s"] for r in runs]
        # A run with someone overcome (and nobody else inside) has its last walk-out apart.
        assert st["last_out_s_someone_overcome"] == [
            r["last_out_s"] if r["casualties"] and not r["inside"] else None for r in runs]
        for key, q in (("median_s", 50), ("p95_s", 95)):
            expected = percentile(times, q)  # a run with someone left inside is infinite
            assert st[key] == (None if math.isinf(expected) else pytest.approx(expected))
        assert st["exit_usage_mean"]["rear"] == pytest.approx(
            np.mean([r["exits"]["rear"]["evacuated"] for r in runs]))
        # The curves of people out count the occupants who got out, not the night staff or
        # the brigade (actors) leaving.
        for r in runs:
            maps = np.load(out / "runs" / st["label"] / f"seed-{r['seed']}" / "maps.npz")
            assert maps["out_time_s"].shape == (r["occupants"],)
            assert int(np.isfinite(maps["out_time_s"]).sum()) == r["evacuated"]
        if st["median_s"] is not None:
            assert f"({st['median_s']:.0f} s)" in html
    rear_locked = next(s for s in doc["variants"] if s["label"] == "rear_locked")
    assert rear_locked["locked"] == ["rear"]
    assert "With rear locked" in doc["headlines"]["rear_locked"]
    for name in ("curves.png", "times.png", "exits.png", "density.png", "timeline.png"):
        assert (out / name).stat().st_size > 10_000
    assert html.count("data:image/png;base64,") == 5  # self-contained
    assert "KPIs: runs in which each was met" in html and "<h2>Smoke</h2>" in html
    # Each kind's time is its own median over the runs, not a figure of the median run.
    assert "each kind of occupant was out (median of the runs)" in html
    assert "(median run)" not in html


def test_the_report_says_what_each_variant_is(nursing_comparison):
    # A report is sent to venue operators who have not read the scenario file: before, it
    # named the variants and their locked exits, and no more.
    out, result = nursing_comparison
    said = json.loads((out / "comparison.json").read_text())["variants_described"]
    assert said == result["variants_described"]
    assert said["rear_locked"]["changes"] == ["locks rear"]
    assert said["rear_open"]["changes"] == []
    sc = load_scenario(NURSING, "rear_locked")
    assert said["rear_locked"]["description"] == sc.variant_description != ""
    html = (out / "report.html").read_text()
    table = html[html.index("<h2>The variants</h2>"):html.index("<h2>Results</h2>")]
    assert "<td>rear_locked</td><td>The rear exit is locked" in table
    assert "<td>locks rear</td>" in table and "<td>as written</td>" in table


def test_headlines_say_when_responders_arrived_later_or_sooner(nursing_comparison):
    # The tower's lane_blocked read like lane_clear in every figure of its headline: the
    # occupants are out before the brigade comes either way; the brigade's 45 s is the news.
    from sim.compare import ARRIVAL_NEWS_S, headline

    out, result = nursing_comparison
    ref, other = (next(s for s in result["variants"] if s["label"] == v)
                  for v in ("rear_open", "rear_locked"))
    runs = [json.loads(Path(r["summary"]).read_text()) for r in result["runs"]
            if r["label"] == "rear_open"]
    arrived = sorted(next(r["actual_s"] for r in s["timeline"] if r["id"] ==
                          "arrive_fire_brigade") for s in runs)
    assert ref["on_scene_median_s"] == {"fire_brigade": pytest.approx(
        (arrived[1] + arrived[2]) / 2)}  # (four runs)

    def at(st, t):
        return {**st, "on_scene_median_s": {"fire_brigade": t}}

    text = headline(at(ref, 508.2), at(other, 553.2))
    assert "The fire brigade arrived after 9 min 13 s in the median run, 45 s later than in " \
           "'rear_open'." in text
    assert "arrived" not in headline(at(ref, 508.2), at(other, 508.2 + ARRIVAL_NEWS_S - 1))
    assert "9 min 13 s sooner" not in headline(at(ref, 553.2), at(other, 508.2))
    assert "45 s sooner than in 'rear_open'" in headline(at(ref, 553.2), at(other, 508.2))
    assert "The fire brigade never arrived in the median run; in 'rear_open', after 8 min " \
           "28 s." in headline(at(ref, 508.2), at(other, None))
    # Figures that read the same are said to be so.
    same = {"occupant_seconds_in_smoke_mean": 3733.2}
    text = headline({**ref, **same}, {**other, **same})
    assert "person-seconds in smoke, as in 'rear_open'." in text
    text = headline({**ref, **same}, {**other, "occupant_seconds_in_smoke_mean": 5774.0})
    assert "5,774 person-seconds in smoke (against 3,733)." in text


def test_headlines_and_the_smoke_table_say_when_the_overcome_were_all_carried_out(
        nursing_comparison):
    """What a late brigade costs those who could not get out by themselves: when responders
    had everyone overcome inside out of the building (median over the runs in which anyone
    overcome lay inside), against the reference. The tower's blocked fire lane showed only in
    the brigade's arrival."""
    from sim.compare import ARRIVAL_NEWS_S, headline
    from sim.report import smoke_table

    out, result = nursing_comparison
    for st in result["variants"]:
        runs = [json.loads(Path(r["summary"]).read_text()) for r in result["runs"]
                if r["label"] == st["label"]]
        lying = [r for r in runs if r["casualties_carried_out"] or r["casualties_left_inside"]]
        assert st.get("runs_with_casualties_inside", 0) == len(lying)
        if lying:
            times = [r["last_casualty_carried_out_s"] if r["casualties_left_inside"] == 0
                     else math.inf for r in lying]
            expected = percentile(times, 50)
            assert st["casualties_out_median_s"] == (
                None if math.isinf(expected) else pytest.approx(expected))
    ref, other = (next(s for s in result["variants"] if s["label"] == v)
                  for v in ("rear_open", "rear_locked"))

    def lay(st, t, k=4):
        return {**st, "runs_with_casualties_inside": k, "casualties_out_median_s": t}

    text = headline(lay(ref, 1094.0), lay(other, 2041.0))
    assert "The last of those overcome inside was carried out after 34 min 01 s in the median " \
           "run, 15 min 47 s later than in 'rear_open'." in text
    assert "carried out after" not in headline(lay(ref, 1094.0),
                                               lay(other, 1094.0 + ARRIVAL_NEWS_S - 1))
    assert "5 min 00 s sooner than in 'rear_open'" in headline(lay(ref, 1394.0),
                                                               lay(other, 1094.0))
    assert "runs in which anyone was" not in text
    # Medians over different runs are given side by side, each with how many runs it is of.
    assert "The last of those overcome inside was carried out after 34 min 01 s (the median " \
           "of the 3 of 4 runs in which anyone was overcome inside; in 'rear_open', 18 min " \
           "14 s, the median of 4)." in headline(lay(ref, 1094.0), lay(other, 2041.0, k=3))
    assert "was not all carried out (the median of the 2 of 4 runs in which anyone was " \
           "overcome inside; in 'rear_open', 18 min 14 s, the median of 3)." in headline(
               lay(ref, 1094.0, k=3), lay(other, None, k=2))
    # Where anyone lay inside in fewer than half the runs of either, nothing is said (the
    # sentence on how often anyone was overcome covers it).
    assert "carried out" not in headline(lay(ref, 1094.0, k=1), lay(other, 2041.0, k=4))
    assert "carried out" not in headline(lay(ref, 1094.0, k=4), lay(other, 2041.0, k=1))
    assert "Those overcome inside were not all carried out by the end of the median run; in " \
           "'rear_open' the last was out after 18 min 14 s." in headline(
               lay(ref, 1094.0), lay(other, None))
    assert "carried out after 18 min 14 s in the median run; in 'rear_open' they were not " \
           "all carried out." in headline(lay(ref, None), lay(other, 1094.0))
    assert "carried out" not in headline(lay(ref, None), lay(other, None))
    # Nothing to say where nobody overcome lay inside in one of the two.
    bare = {k: v for k, v in ref.items() if k not in ("runs_with_casualties_inside",
                                                      "casualties_out_median_s")}
    assert "carried out" not in headline(bare, lay(other, 2041.0))
    table = smoke_table([bare, lay(other, 2041.0, k=3)])
    assert "<th>last of those overcome inside carried out (median)</th>" in table
    assert "<td>nobody overcome inside</td>" in table
    assert "<td>34 min 01 s (3 of 4 runs with anyone overcome inside)</td>" in table
    assert "<td>not all, by the end</td>" in smoke_table([lay(ref, None)])
    assert "carried out" not in smoke_table([bare])


def test_the_smoke_table_gives_those_caught_by_the_fire_apart(nursing_comparison):
    from sim.report import smoke_table

    _, result = nursing_comparison
    stats = result["variants"]
    assert all(s["runs_caught_by_fire"] == 0 for s in stats)
    plain = smoke_table(stats)
    assert "caught by the fire" not in plain
    assert f"<td>{stats[1]['casualties_mean']:.1f}</td>" in plain
    fire = [{**stats[0], "casualties_mean": 1.5, "caught_by_fire_mean": 0.5,
             "runs_caught_by_fire": 1}, stats[1]]
    table = smoke_table(fire)
    assert "<th>caught by the fire, mean</th>" in table
    assert f"<tr><td>{stats[0]['label']}</td><td>1.0</td><td>0.5</td>" in table


def test_headlines_speak_of_one_run_as_one_run(nursing_comparison):
    from sim.compare import headline

    _, result = nursing_comparison
    ref, other = (next(s for s in result["variants"] if s["label"] == v)
                  for v in ("rear_open", "rear_locked"))

    def runs_of(st, times):  # the variant's statistics, with these evacuation times
        return {**st, "runs": len(times), "evacuation_time_s": times,
                "median_s": percentile(times, 50), "p95_s": percentile(times, 95)}

    many = headline(runs_of(ref, [400.0, 410.0, 420.0, 430.0]),
                    runs_of(other, [450.0, 460.0, 470.0, 480.0]))
    assert "95th percentile over 4 runs" in many and "Only 4 runs" in many
    assert "In the median run everyone is out" in many
    single = headline(runs_of(ref, [400.0]), runs_of(other, [450.0]))
    assert "1 runs" not in single and "median run" not in single
    assert "the last person is out 50 s later (in the one run: 7 min 30 s against 6 min 40 s)" \
        in single
    assert single.endswith("One run only: the model is random, so run more seeds before "
                           "relying on any difference.")


def test_a_difference_of_seconds_is_the_same_figure_in_headline_ranking_and_report(
        nursing_comparison):
    """The office's criticality said "the last person is out at the same time (... 4 min 40 s
    against 4 min 41 s)" above a ranking line "-1 s"; the demo said "5 min 35 s instead of
    2 min 49 s: 2 min 47 s later"."""
    from sim.compare import headline, ranking_line
    from sim.report import _delta

    _, result = nursing_comparison
    ref, other = (next(s for s in result["variants"] if s["label"] == v)
                  for v in ("rear_open", "rear_locked"))

    def last(st, p95):
        return {**st, "runs": 6, "p95_s": p95, "median_s": p95 - 5.0}

    # The difference is that of the times as shown, each rounded to the second: a reader
    # can work it out from them.
    for p95, said, shown in [(280.5, "1 s earlier", "4 min 40 s"),
                             (281.85, "1 s later", "4 min 42 s"),
                             (280.95, "at the same time", "4 min 41 s"),
                             (281.45, "at the same time", "4 min 41 s"),
                             (300.0, "19 s later", "5 min 00 s")]:
        text = headline(last(ref, 281.25), last(other, p95))
        assert f"the last person is out {said} (95th percentile over 6 runs: {shown} against " \
               "4 min 41 s)" in text, p95
    # The median run's sentence: medians that round alike are said as such (the restaurant's
    # criticality read "everyone is out after 1 min 25 s instead of 1 min 25 s").
    text = headline(last(ref, 281.25), last(other, 281.45))
    assert "In the median run everyone is out after 4 min 36 s, as in 'rear_open'." in text
    text = headline(last(ref, 281.25), last(other, 300.0))
    assert "In the median run everyone is out after 4 min 55 s, against 4 min 36 s." in text
    # The ranking and the report give the same figures (criticality stores them so).
    from sim.run import seconds_apart
    for p95, line, cell in [(280.5, "-1 s", "−1 s"), (281.85, "+1 s", "+1 s"),
                            (280.95, "+0 s", "+0 s"), (300.0, "+19 s", "+19 s")]:
        extra = seconds_apart(p95, 281.25)
        assert ranking_line(_entry("without rear", p95=extra)) == line
        assert _delta(extra) == cell
    # The demo's sentence: 5 min 35 s against 2 min 49 s is 2 min 46 s later.
    from sim.cli import compare_in_words
    base = {"evacuation_time_s": 168.6, "exits": {}, "variant": "a"}
    locked = {"evacuation_time_s": 335.2, "exits": {"n": {"locked_at_start": True}},
              "variant": "b", "locked_exit_discoveries": 0}
    assert "after 5 min 35 s instead of 2 min 49 s: 2 min 46 s later" in \
        compare_in_words(base, locked)
    crowd = dict(locked, locked_exit_discoveries=1_500, told_of_locked_exits=12_000,
                 time_lost_to_locked_exits_s={"occupants": 9_000, "mean": 4.2})
    assert (" 1,500 people walked up to a locked exit before turning back and 12,000 more were "
            "told by others; 9,000 lost 4 s each") in compare_in_words(base, crowd)
    one = dict(crowd, locked_exit_discoveries=1, told_of_locked_exits=1,
               time_lost_to_locked_exits_s={"occupants": 1, "mean": 12.0})
    assert (" 1 person walked up to a locked exit before turning back and 1 more was told by "
            "others; 1 lost 12 s heading for it.") in compare_in_words(base, one)


def test_the_range_of_a_variant_with_no_run_all_out_is_said_once():
    from sim.report import _range

    assert _range({"min_s": None, "max_s": None}) == "not everyone out"
    assert _range({"min_s": 100.0, "max_s": None}) == "1 min 40 s (100 s) – not everyone out"
    assert _range({"min_s": 100.0, "max_s": 130.0}) == "1 min 40 s (100 s) – 2 min 10 s (130 s)"


def test_a_folder_of_runs_given_as_a_run_says_which_runs_it_holds(nursing_comparison,
                                                                   tmp_path):
    # "drillsim replay runs/demo/nursing_home_comparison" said ".../record.npz: file not found".
    from sim.errors import RecordError
    from sim.record import read_record
    from trainer.records import ReplayError, load_replay

    out, _ = nursing_comparison
    first = [out / "runs" / v / "seed-1" for v in ("rear_open", "rear_locked")]
    with pytest.raises(ReplayError) as info:
        load_replay(out)
    assert str(info.value) == (f"{out}: a comparison's folder, not a run: it holds 8 run(s); "
                               f"give one or two of them, e.g. {first[0]} {first[1]}")
    load_replay(first[1])  # (and they are runs)
    with pytest.raises(RecordError) as info:  # (export takes one run)
        read_record(out)
    assert f"give one of them, e.g. {first[0]}" in str(info.value)
    with pytest.raises(ReplayError, match="a folder of runs, not a run: it holds 4 run"):
        load_replay(out / "runs" / "rear_open")
    with pytest.raises(ReplayError, match="record.npz: file not found"):
        load_replay(tmp_path)


def test_people_left_inside_are_told_against_the_reference(nursing_comparison):
    from sim.compare import headline

    _, result = nursing_comparison
    ref, other = (next(s for s in result["variants"] if s["label"] == v)
                  for v in ("rear_open", "rear_locked"))

    def left(st, runs_left, most, casualties=0.0):
        return {**st, "runs": 4, "runs_not_everyone_out": runs_left, "max_still_inside": most,
                "casualties_mean": casualties}

    # Only the variant leaves people inside: said plainly, as before.
    text = headline(left(ref, 0, 0), left(other, 2, 7))
    assert "With rear locked, in 2 of 4 runs people were still inside when the simulation " \
           "stopped (up to 7 of" in text and "against" not in text.split("stopped")[1][:40]
    # Both do: the reference's count stands beside it (it is not the lock's doing alone).
    text = headline(left(ref, 4, 3_000), left(other, 2, 7))
    assert f"(up to 7 of {other['occupants']:,}), against 4 of 4 runs (up to 3,000) in " \
           "'rear_open'." in text
    text = headline(left(ref, 4, 30), left(other, 2, 7))
    assert f"(up to 7 of {other['occupants']}), against 4 of 4 runs (up to 30) in " \
           "'rear_open'." in text
    # Only the reference does: the variant got everyone out, and that is said.
    text = headline(left(ref, 4, 30), left(other, 4, 0, casualties=1.5))
    assert "With rear locked, nobody was still inside when the simulation stopped apart from " \
           "those overcome, against 4 of 4 runs (up to 30) in 'rear_open'." in text
    # A door locked by ``criticality`` is named as the lock.
    text = headline(left(ref, 0, 0), {**left(other, 2, 7), "label": "without door fire_door",
                                      "locked": ref["locked"]})
    assert text.startswith("With door fire_door locked throughout, in 2 of 4 runs")


def test_with_casualties_the_headline_gives_the_last_of_those_who_got_out(nursing_comparison):
    from sim.compare import headline

    _, result = nursing_comparison
    ref, other = (next(s for s in result["variants"] if s["label"] == v)
                  for v in ("rear_open", "rear_locked"))

    def lost(st, last):  # someone overcome in every run: no time at which everyone was out
        return {**st, "runs": 4, "p95_s": None, "median_s": None, "casualties_mean": 1.0,
                "max_still_inside": 0, "last_out_median_s": last}

    text = headline(lost(ref, 395.0), lost(other, 410.0))
    assert "With rear locked, the last of those who got out left after 6 min 50 s in the " \
           "median run, against 6 min 35 s." in text
    assert "the last person is out" not in text
    text = headline(lost(ref, 395.0), lost(other, 395.2))  # (the same second: said so)
    assert "the last of those who got out left after 6 min 35 s in the median run, as in " \
           "'rear_open'." in text


def test_with_everyone_out_in_most_runs_the_headline_gives_the_median_run(nursing_comparison):
    """Someone overcome in one run of six: no 95th percentile, but the median run had everyone
    out, and the headline gives its time, as the results table does (not the last of those
    who got out, a different median)."""
    from sim.compare import headline

    _, result = nursing_comparison
    ref, other = (next(s for s in result["variants"] if s["label"] == v)
                  for v in ("rear_open", "rear_locked"))

    def one_lost(st, median, last):
        return {**st, "runs": 6, "p95_s": None, "median_s": median, "casualties_mean": 0.2,
                "runs_with_casualties": 1, "max_still_inside": 0, "last_out_median_s": last}

    text = headline(one_lost(ref, 409.0, 387.0), one_lost(other, 429.0, 407.0))
    assert "With rear locked, in the median run everyone is out after 7 min 09 s, against " \
           "6 min 49 s." in text
    assert "the last of those who got out" not in text
    text = headline(one_lost(ref, 409.0, 387.0), one_lost(other, 409.3, 407.0))
    assert "in the median run everyone is out after 6 min 49 s, as in 'rear_open'." in text
    # Whether the difference is within the run-to-run spread is said here too.
    inf = float("inf")
    spread = {"evacuation_time_s": [380.0, 395.0, 409.0, 409.0, 420.0, inf]}
    apart = {"evacuation_time_s": [500.0, 510.0, 520.0, 520.0, 530.0, inf]}
    text = headline({**one_lost(ref, 409.0, 387.0), **spread},
                    {**one_lost(other, 429.0, 407.0), **spread})
    assert "The difference (+20 s in the median) is within the run-to-run spread of 6 runs" \
        in text
    text = headline({**one_lost(ref, 409.0, 387.0), **spread},
                    {**one_lost(other, 520.0, 407.0), **apart})
    assert "everyone is out after 8 min 40 s, against 6 min 49 s." in text
    assert "within the run-to-run spread" not in text


def test_the_slowest_kind_of_occupant_is_named_and_not_timed_twice(nursing_comparison):
    """The headline names the kind of occupant out last in the reference; when its times are
    those just given for everyone, it says only who it was."""
    from sim.compare import headline

    _, result = nursing_comparison
    ref, other = (next(s for s in result["variants"] if s["label"] == v)
                  for v in ("rear_open", "rear_locked"))

    def timed(st, everyone, profiles):
        return {**st, "runs": 4, "evacuation_time_s": [everyone] * 4, "median_s": everyone,
                "p95_s": everyone, "profile_all_out_median_s": profiles}

    cases = [  # (the reference's and the variant's medians by kind; said; not said)
        ({"staff": 120.0, "bedridden": 380.0}, {"staff": 130.0, "bedridden": 440.0},
         "The last bedridden resident was out after 7 min 20 s (the median of 4 runs), "
         "against 6 min 20 s.", "in the median run, against"),
        # Its times are everyone's, just given: who it was is said, not when (again).
        ({"elderly": 400.0, "visitor": 300.0}, {"elderly": 450.2, "visitor": 310.0},
         "The last out was an elderly person, in the median run of both.", "was out after"),
        # The kind out last in the variant is spoken of, even if another was last in the
        # reference: its own time was just given, the reference's is not.
        ({"adult": 400.0, "night_porter": 390.0}, {"adult": 440.0, "night_porter": 450.0},
         "The last out was a night porter occupant; in 'rear_open' the last night porter "
         "occupant was out after 6 min 30 s.", None),
        ({"adult": 400.0, "child": 390.0}, {"adult": 440.0, "child": 430.0},
         "The last adult was out after 7 min 20 s", None),
        ({"adult": 300.0, "night_porter": 390.0}, {"adult": 340.0, "night_porter": 445.0},
         "The last night porter occupant was out after 7 min 25 s", None),
    ]
    for mine, theirs, said, unsaid in cases:
        text = headline(timed(ref, 400.0, mine), timed(other, 450.0, theirs))
        assert said in text
        assert unsaid is None or unsaid not in text


def test_with_casualties_the_slowest_kind_is_not_timed_twice(nursing_comparison):
    """When someone was overcome, the headline gives the last of those who got out; a kind of
    occupant out at that same time is only named."""
    from sim.compare import headline

    _, result = nursing_comparison
    ref, other = (next(s for s in result["variants"] if s["label"] == v)
                  for v in ("rear_open", "rear_locked"))

    def lost(st, last, bedridden):
        return {**st, "runs": 4, "p95_s": None, "median_s": None, "casualties_mean": 1.0,
                "max_still_inside": 0, "last_out_median_s": last,
                "profile_all_out_median_s": {"staff": 200.0, "bedridden": bedridden}}

    text = headline(lost(ref, 395.0, 395.0), lost(other, 410.0, 410.0))
    assert "the last of those who got out left after 6 min 50 s" in text
    assert "The last out was a bedridden resident, in the median run of both." in text
    text = headline(lost(ref, 395.0, 380.0), lost(other, 410.0, 400.0))
    assert "The last bedridden resident was out after 6 min 40 s (the median of 4 runs), " \
           "against 6 min 20 s." in text


def test_harm_that_comes_to_fewer_than_one_a_run_is_told_in_runs(nursing_comparison):
    """'0.2 people were overcome' is no way to speak of people: under one a run, the headline
    says in how many runs anyone was; from one a run up, the mean."""
    from sim.compare import headline

    _, result = nursing_comparison
    ref, other = (next(s for s in result["variants"] if s["label"] == v)
                  for v in ("rear_open", "rear_locked"))

    def harm(st, overcome, runs_overcome, harmed, runs_harmed):
        return {**st, "runs": 10, "casualties_mean": overcome,
                "runs_with_casualties": runs_overcome, "harmed_mean": harmed,
                "runs_harmed": runs_harmed}

    text = headline(harm(ref, 0.2, 2, 0.1, 1), harm(other, 0.2, 2, 0.3, 3))
    assert "With rear locked, someone was overcome by smoke in 2 of 10 runs, as in " \
           "'rear_open', someone was harmed (FED 0.3 or more) in 3 of 10 runs (against 1), " \
           "and occupants spent" in text
    # Someone caught where the fire spread is a casualty too, and not the smoke's doing.
    text = headline(harm(ref, 0.2, 2, 0.1, 1), {**harm(other, 0.2, 2, 0.3, 3),
                                                "runs_caught_by_fire": 1})
    assert "With rear locked, someone was overcome by smoke or fire in 2 of 10 runs, as in " \
           "'rear_open', someone was harmed" in text
    text = headline(harm(ref, 0.2, 2, 0.0, 0), harm(other, 0.0, 0, 0.0, 0))
    assert "nobody was overcome by smoke (against 2 of 10 runs), nobody was harmed (FED 0.3 " \
           "or more) in any run" in text
    text = headline({**harm(ref, 0.0, 0, 0.0, 0), "runs": 1},
                    {**harm(other, 1.0 / 3, 1, 0.0, 0), "runs": 1})
    assert "someone was overcome by smoke (nobody in the reference), nobody was harmed " \
           "(FED 0.3 or more), as in the reference" in text
    text = headline(harm(ref, 6.0, 10, 7.0, 10), harm(other, 22.0, 10, 89.0, 10))
    assert "on average 22.0 people were overcome by smoke (against 6.0), on average 89.0 " \
           "people were harmed (FED 0.3 or more) (against 7.0)" in text
    # Few runs: the caution names the 95th percentile only where one was given.
    times = {"p95_s": 400.0, "median_s": 390.0,
             "evacuation_time_s": [380.0, 385.0, 390.0, 390.0, 395.0, 400.0]}
    few = headline({**harm(ref, 0.2, 1, 0.1, 1), "runs": 6, **times},
                   {**harm(other, 0.2, 1, 0.3, 2), "runs": 6, **times})
    assert "(95th percentile over 6 runs: 6 min 40 s against 6 min 40 s)" in few
    assert few.endswith("Only 6 runs: treat the 95th percentile as rough.")
    no95 = {"p95_s": None, "median_s": None}
    few = headline({**harm(ref, 0.2, 1, 0.1, 1), "runs": 6, **no95},
                   {**harm(other, 0.2, 1, 0.3, 2), "runs": 6, **no95})
    assert "95th" not in few and few.endswith("Only 6 runs: treat these figures as rough.")
    text = headline(harm(ref, 6.0, 10, 7.0, 10), harm(other, 6.04, 10, 89.0, 10))
    assert "on average 6.0 people were overcome by smoke, as in 'rear_open', on average " \
           "89.0 people were harmed" in text


def test_means_of_people_round_half_up(nursing_comparison):
    # A mean of 0.5 passed the test for saying it (0.5 or more) and was then said as "0"
    # (Python rounds half to even).
    from sim.compare import headline

    _, result = nursing_comparison
    ref, other = (next(s for s in result["variants"] if s["label"] == v)
                  for v in ("rear_open", "rear_locked"))
    for found, told, said in ((0.5, 0.5, "On average 1 person walked up to a locked exit and "
                                         "1 more heard of it from others."),
                              (2.5, 0.4, "On average 3 people walked up to a locked exit."),
                              (1.4, 12.5, "On average 1 person walked up to a locked exit and "
                                          "13 more heard of it from others."),
                              (1500.2, 12000.0, "On average 1,500 people walked up to a locked "
                                                "exit and 12,000 more heard of it from others.")):
        text = headline(ref, {**other, "locked_exit_discoveries_mean": found,
                              "told_of_locked_exits_mean": told})
        assert said in text


def _entry(label, p95=None, last=None, left=0, not_out=0, casualties=0.0, runs=3):
    return {"label": label, "extra_median_s": p95, "extra_p95_s": p95,
            "extra_last_out_median_s": last, "runs": runs, "runs_not_everyone_out": not_out,
            "runs_left_inside": left, "max_still_inside": 5 if left else 0,
            "casualties_mean": casualties}


def test_a_criticality_ranking_with_casualties_ranks_by_the_last_of_those_who_got_out():
    """With someone overcome by smoke in a run, no run time counts as everyone out: the entry
    is ranked, and printed, by the extra time of the last of those who got out. Runs that left
    people inside rank first and are said to; no cost reads '-0 s'."""
    from sim.compare import ranking_key, ranking_line

    entries = [_entry("without rear", last=-1.8, not_out=1, casualties=0.3),
               _entry("without main", last=16.8, not_out=1, casualties=0.3),
               _entry("without east", last=22.8, not_out=1, casualties=0.3),
               _entry("without yard", left=2, not_out=2, casualties=0.3),
               {**_entry("without gate", left=2, not_out=2, casualties=0.3),
                "max_still_inside": 24},
               _entry("without side", p95=-0.4)]
    ranked = [e["label"] for e in sorted(entries, key=ranking_key)]
    assert ranked == ["without gate", "without yard", "without east", "without main",
                      "without rear", "without side"]
    lines = {e["label"]: ranking_line(e) for e in entries}
    assert lines["without east"] == "+23 s for the last of those who got out (median run; " \
                                    "someone overcome by smoke in 1 of 3 runs)"
    assert lines["without rear"].startswith("-2 s for the last")
    assert lines["without yard"] == "not everyone out (2 of 3 runs; up to 5 left inside)"
    assert lines["without side"] == "+0 s"
    # Everyone out in the median run (someone overcome in one run of three): ranked, and
    # printed, by the median run's extra time, as the headline gives it.
    north = {**_entry("without north", last=20.0, not_out=1, casualties=0.3),
             "extra_median_s": 27.0}
    ranked = [e["label"] for e in sorted(entries + [north], key=ranking_key)]
    assert ranked.index("without north") == ranked.index("without east") - 1
    assert ranking_line(north) == "+27 s in the median run (someone overcome by smoke in 1 " \
                                  "of 3 runs)"
    assert ranking_line({**north, "runs_caught_by_fire": 1}) == \
        "+27 s in the median run (someone overcome by smoke or fire in 1 of 3 runs)"


def test_the_ranking_plot_shows_what_the_ranking_ranks_by():
    """Bars of the last of those who got out where someone was overcome, and why in the label;
    no legend entry for a series with no bar."""
    import matplotlib.pyplot as plt

    from sim.report import plot_ranking

    fig, ax = plt.subplots()
    plot_ranking(ax, [_entry("without east", last=22.8, not_out=1, casualties=0.3),
                      _entry("without yard", left=2, not_out=2)])
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["the last of those who got out, median run"]
    widths = [p.get_width() for p in ax.patches]
    assert widths[0] == pytest.approx(22.8) and all(np.isnan(widths[1:]))
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert ticks == ["without east\n(1 run: someone overcome)",
                     "without yard\n(2 runs: not all out)"]
    assert ax.get_xlabel() == "extra time (s)"
    notes = [t.get_text() for t in ax.texts]
    assert "+23 s" in notes and "no time: people left inside in 2 of 3 runs (up to 5)" in notes
    plt.close(fig)
    # Everyone out in the median run: the median's bar alone.
    fig, ax = plt.subplots()
    plot_ranking(ax, [{**_entry("without north", last=20.0, not_out=1, casualties=0.3),
                       "extra_median_s": 27.0}])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == \
        ["median run (no 95th percentile)"]
    assert [p.get_width() for p in ax.patches] == [pytest.approx(27.0)]
    assert ax.patches[0].get_y() + ax.patches[0].get_height() / 2 == pytest.approx(0.0)
    plt.close(fig)
    # A cost of nothing is drawn on an axis of at least 20 s, not of a twentieth of one.
    fig, ax = plt.subplots()
    plot_ranking(ax, [_entry("without main", p95=0.0), _entry("without side", p95=-0.4)])
    lo, hi = ax.get_xlim()
    assert hi - lo >= 20 and lo < -0.4 and "+0 s" in [t.get_text() for t in ax.texts]
    plt.close(fig)


def test_unfinished_runs_are_never_counted_as_the_time_limit():
    assert percentile([100.0, 120.0, math.inf], 95) == math.inf
    assert percentile([100.0, 120.0, 130.0], 50) == 120.0


def _workers(pid: int) -> list[int]:
    """Worker processes of a process pool (not multiprocessing's resource tracker)."""
    kids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            if int(fields[1]) == pid and b"spawn_main" in cmdline:
                kids.append(int(entry.name))
    return kids


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds worker processes through /proc")
def test_killed_worker_loses_nothing_and_a_rerun_repeats_nothing(tmp_path):
    out = tmp_path / "cmp"
    cmd = [sys.executable, "-m", "sim.cli", "compare", str(NURSING), "--variants",
           "rear_open,rear_locked", "--seeds", "6", "--workers", "2", "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 240
    while time.time() < deadline and not list(out.glob("runs/*/*/summary.json")):
        time.sleep(0.05)
    finished_before_kill = len(list(out.glob("runs/*/*/summary.json")))
    assert 0 < finished_before_kill < 12, "no run finished in time, or all did"
    workers = _workers(proc.pid)
    assert workers
    os.kill(workers[0], signal.SIGKILL)  # one worker dies mid-run
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 2
    assert "finished and are kept" in stderr and "Traceback" not in stderr
    kept = {p: p.stat().st_mtime_ns for p in out.glob("runs/*/*/summary.json")}
    assert len(kept) >= finished_before_kill
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    after = {p: p.stat().st_mtime_ns for p in out.glob("runs/*/*/summary.json")}
    assert len(after) == 12
    assert all(after[p] == t for p, t in kept.items())  # nothing finished was run again
    assert (out / "report.html").exists()


def test_flow_bound_is_never_above_a_simulated_time():
    # Every shipped building-sized scenario (the 100,000-visitor fair is a benchmark): every
    # variant of the plain scenarios, and one variant of each drill (drills take longer to run).
    for path in sorted((ROOT / "scenarios").glob("*.toml")):
        variants = list_variants(path)
        if load_scenario(path).drill.actions:
            variants = variants[1:2]
        for variant in variants:
            sc = load_scenario(path, variant)
            if sc.occupants > 5000:
                continue
            m = EvacuationModel(sc, 1, make_handles=False)
            bound = evacuation_lower_bound(m)
            m.run()
            assert bound is not None and 0 < bound <= m.time_s, (path.stem, variant)


def test_flow_bound_matches_a_hand_calculation():
    # 1000 people, four exits of 1.6 P/s: at least (1000 - 12 standing in exit cells)/6.4 s.
    sc = load_scenario(ROOT / "scenarios" / "hall.toml", "all_open")
    bound = evacuation_lower_bound(EvacuationModel(sc, 1, make_handles=False))
    assert (1000 - 12) / 6.4 - 2 <= bound <= 1000 / 6.4 + 10


def test_criticality_ranks_exits(tmp_path):
    hall = ROOT / "scenarios" / "hall.toml"
    result = criticality(hall, 2, 2, tmp_path, progress=False, variant="all_open")
    labels = [r["label"] for r in result["ranking"]]
    assert sorted(labels) == ["without " + e for e in ("north_east", "north_west",
                                                       "south_east", "south_west")]
    extra = [r["extra_p95_s"] for r in result["ranking"]]
    assert extra == sorted(extra, reverse=True)  # costliest first
    assert extra[0] > 0
    # Each is the difference of the 95th percentiles as the report shows them (to the second).
    p95 = {s["label"]: s["p95_s"] for s in result["variants"]}
    ref = p95[result["reference"]]
    assert all(r["extra_p95_s"] == round(p95[r["label"]]) - round(ref)
               for r in result["ranking"])
    assert (tmp_path / "ranking.png").exists() and "Ranking" in (tmp_path / "report.html").read_text()


def test_criticality_takes_the_exit_away_for_the_whole_run(tmp_path):
    # The nursing home's night staff unlock the rear exit after the alarm: "without rear"
    # must not have it back when they get there.
    from sim.drillrun import HELD_NOTE

    jobs = make_jobs(NURSING, [("without rear", "rear_open", ("rear",))], [1], tmp_path)
    s = run_jobs(jobs, 1, progress=False)[0]
    assert s["exits"]["rear"]["locked_at_start"] and s["exits"]["rear"]["locked_at_end"]
    assert s["exits"]["rear"]["evacuated"] == 0
    row = next(r for r in s["timeline"] if r["id"] == "unlock_rear")
    assert row["triggered_s"] is not None and row["actual_s"] is None
    assert row["note"] == HELD_NOTE
    # Not "The rear exit is open; two night staff." (rear_open's description) above it.
    assert s["variant_description"] == "rear taken away for this study (locked " \
        "throughout); otherwise the scenario as in 'rear_open'."
    # A comparison's locked variant is only locked: the staff unlock it.
    jobs = make_jobs(NURSING, [("rear_locked", "rear_locked", ())], [1], tmp_path)
    s = run_jobs(jobs, 1, progress=False)[0]
    assert not s["exits"]["rear"]["locked_at_end"]


@pytest.fixture(scope="module")
def one_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    jobs = make_jobs(NURSING, [("rear_locked", "rear_locked", ())], [3], out)
    run_jobs(jobs, 1, progress=False)
    return Path(jobs[0].out_dir)


def test_a_finished_run_is_reused_only_by_the_same_build(one_run, monkeypatch):
    # The fingerprint held the version number, 0.1.0 through every change of the model's
    # rules: a comparison rerun after an upgrade reused runs the old rules had made.
    from sim import batch

    out = one_run.parents[2]
    again = make_jobs(NURSING, [("rear_locked", "rear_locked", ())], [3], out)[0]
    assert batch.finished_summary(again) is not None  # (same build: reused)
    digest = batch.code_digest()
    assert len(digest) == 16 and digest == batch.code_digest()
    monkeypatch.setattr(batch, "code_digest", lambda: "another build")
    other = make_jobs(NURSING, [("rear_locked", "rear_locked", ())], [3], out)[0]
    assert other.fingerprint != again.fingerprint and batch.finished_summary(other) is None


def test_pedpy_reads_the_export(one_run, tmp_path):
    import pedpy

    from sim.export import export_pedpy
    from sim.record import read_record

    path = export_pedpy(one_run, tmp_path / "traj.txt")
    traj = pedpy.load_trajectory_from_txt(trajectory_file=path)
    rec = read_record(one_run)
    inside = rec.frame_cell >= 0
    assert traj.data["id"].nunique() == int(np.count_nonzero(inside.any(axis=0)))
    assert len(traj.data) == int(inside.sum())
    assert traj.data["frame"].max() + 1 == int(np.flatnonzero(inside.any(axis=1)).max() + 1)
    assert traj.frame_rate == pytest.approx(1 / rec.meta["frame_interval_s"], rel=1e-5)


def test_csv_export_has_trajectories_and_curve(one_run, tmp_path):
    from sim.export import export_csv

    traj, curve = export_csv(one_run, tmp_path)
    lines = curve.read_text().splitlines()
    summary = json.loads((one_run / "summary.json").read_text())
    assert lines[0] == "time_s,evacuated" and len(lines) - 1 == summary["evacuated"]
    rows = traj.read_text().splitlines()
    assert rows[0] == "occupant,frame,time_s,x_m,y_m,floor,state"
    # Every occupant inside at every frame, with its state by name, as the record has it.
    from sim.kernels.movement import CARRIED, CASUALTY, EVACUATED, MOVING, WAITING
    from sim.record import STATE_NAMES, read_record

    assert [STATE_NAMES[k] for k in (WAITING, MOVING, EVACUATED, CASUALTY, CARRIED)] == \
        ["waiting", "moving", "evacuated", "casualty", "carried"]
    rec = read_record(one_run)
    inside = rec.frame_cell >= 0
    assert len(rows) - 1 == int(inside.sum())
    f, o = np.nonzero(inside)
    expected = [STATE_NAMES[k] for k in rec.frame_state[f, o]]
    assert [r.rsplit(",", 1)[1] for r in rows[1:]] == expected
    assert {"waiting", "moving"} <= set(expected)


def test_animation_renders_headless(one_run, tmp_path):
    from PIL import Image

    from sim.animate import animate

    from trainer.draw import LEGEND

    gif = animate([str(one_run)], tmp_path / "a.gif", every=40)
    with Image.open(gif) as img:
        assert img.n_frames >= 3 and img.size == (1280, 720)
        img.seek(img.n_frames - 1)
        pixels = np.asarray(img.convert("RGB")).reshape(-1, 3)
    # The legend's colours are kept exactly (not merged with their neighbours' by a palette
    # made from each frame's pixels), so a swatch matches what it names.
    present = {tuple(int(v) for v in c) for c in np.unique(pixels, axis=0)}
    assert all(tuple(colour) in present for _, colour in LEGEND)
    mp4 = animate([str(one_run), str(one_run)], tmp_path / "a.mp4", every=60)
    assert mp4.stat().st_size > 1000


def test_a_gif_decodes_to_its_frames_on_one_palette_with_the_fixed_colours_exact(tmp_path):
    from PIL import Image

    from sim.animate import gif_frames, write_gif

    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)  # (more colours than fit)
    frames = []
    for k in range(6):  # a small square of an exact colour moving over a noisy background
        f = base.copy()
        f[10:14, 5 + 10 * k:9 + 10 * k] = (0, 175, 170)
        frames.append(f)
    fixed = [(0, 175, 170), (150, 60, 190)]
    write_gif(tmp_path / "x.gif", frames, fixed, fps=5)
    want = [np.asarray(p.convert("RGB")) for p in gif_frames(frames, fixed)]
    with Image.open(tmp_path / "x.gif") as img:
        assert img.n_frames == len(frames)
        for k in range(img.n_frames):
            img.seek(k)
            got = np.asarray(img.convert("RGB"))
            np.testing.assert_array_equal(got, want[k])
            assert (got[10:14, 5 + 10 * k:9 + 10 * k] == (0, 175, 170)).all()
    assert not list(tmp_path.glob(".*"))  # (written atomically: no temporary file left)


def test_drill_timeline_plot_lists_actions_in_the_order_they_started():
    import matplotlib.pyplot as plt

    from sim.report import plot_drill_timeline

    def row(aid, triggered, actual):
        return {"id": aid, "triggered_s": triggered, "actual_s": actual, "planned_s": None}

    # Script order: call, sweep, unlock, arrive (the responders' arrival is listed last).
    open_ = [row("call", 10.0, 40.0), row("sweep", 300.0, 420.0), row("unlock", None, None),
             row("arrive", 40.0, 290.0)]
    locked = [row("call", 10.0, 40.0), row("sweep", 310.0, 430.0), row("unlock", 5.0, 60.0),
              row("arrive", 40.0, 300.0), row("never", None, None)]
    fig, ax = plt.subplots()
    plot_drill_timeline(ax, {"open": open_, "locked": locked}, seed=1)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    plt.close(fig)
    # 'unlock' started first in one run; 'never' never started in any, so it comes last.
    assert labels == ["unlock", "call", "arrive", "sweep", "never"]


def test_the_times_plot_scales_to_the_flow_bound_and_to_the_limit_if_no_run_finished():
    import matplotlib.pyplot as plt

    from sim.report import plot_times

    def st(times, bound, limit=None):
        return {"label": "x", "evacuation_time_s": times, "median_s": None, "p95_s": None,
                "runs_not_everyone_out": sum(t is None for t in times),
                "lower_bound_s_median": bound, "time_limit_s": limit}

    def top_of(stats):
        fig, ax = plt.subplots()
        plot_times(ax, stats)
        top = ax.get_ylim()[1]
        plt.close(fig)
        return top

    # Nobody finished: the axis spans the time simulated, and the flow bound is on it.
    assert top_of([st([None, None], 18.0, 600.0), st([None], 30.0, 600.0)]) >= 600.0
    # Some finished: their times and the bounds set the scale, not the limit.
    top = top_of([st([50.0, None], 80.0, 600.0), st([60.0], 20.0)])
    assert 80.0 < top < 600.0


def test_the_curves_run_to_the_end_of_runs_that_left_people_inside():
    import matplotlib.pyplot as plt

    from sim.report import plot_evacuation_curves

    maps = {"open": [{"out_time_s": np.array([10.0, 20.0, 30.0])}],
            "locked": [{"out_time_s": np.array([15.0, np.inf, np.inf])}]}
    stats = [{"label": "open", "runs": 1, "occupants": 3, "time_limit_s": None},
             {"label": "locked", "runs": 1, "occupants": 3, "time_limit_s": 600.0}]
    fig, ax = plt.subplots()
    plot_evacuation_curves(ax, maps, stats)
    ends = [line.get_xdata()[-1] for line in ax.get_lines() if len(line.get_xdata()) > 2]
    plt.close(fig)
    assert ends and min(ends) >= 600.0
    stats[1]["time_limit_s"] = None  # (everyone out in both: the last exit sets the end)
    fig, ax = plt.subplots()
    plot_evacuation_curves(ax, {"open": maps["open"], "locked": maps["open"]}, stats)
    ends = [line.get_xdata()[-1] for line in ax.get_lines() if len(line.get_xdata()) > 2]
    plt.close(fig)
    assert ends and max(ends) < 40.0


def test_runs_not_all_out_are_told_by_why():
    """A run where someone was overcome has no 'everyone out' time, like one that left people
    inside; the times plot and the results table say which it was."""
    import matplotlib.pyplot as plt

    from sim.report import _not_out, plot_times

    st = {"label": "rear_locked", "evacuation_time_s": [400.0, None, None], "median_s": None,
          "p95_s": None, "runs": 3, "runs_not_everyone_out": 2, "runs_left_inside": 1,
          "lower_bound_s_median": None, "time_limit_s": 900.0}
    fig, ax = plt.subplots()
    plot_times(ax, [st])
    assert [t.get_text() for t in ax.texts] == ["1 run:\nnot all out\n1 run:\nsomeone overcome"]
    # No median, no 95th percentile, no bound drawn: the title promises none.
    assert ax.get_title() == "Evacuation time per run"
    plt.close(fig)
    fig, ax = plt.subplots()
    plot_times(ax, [{**st, "median_s": 400.0, "lower_bound_s_median": 30.0}])
    assert ax.get_title() == "Evacuation time per run (line: median, ◄ flow bound)"
    plt.close(fig)
    assert _not_out(st) == "2 of 3 (1 with people left inside, 1 with someone overcome)"
    assert _not_out({**st, "runs_not_everyone_out": 0, "runs_left_inside": 0}) == "0 of 3"


def test_coinciding_curves_are_drawn_apart_and_the_key_says_they_are_the_same():
    """Variants that end alike (the tower's brigade variants, for those who walk out) would
    hide under one another: each is drawn dashed over the first, and the key says so."""
    import matplotlib.pyplot as plt

    from sim.report import coinciding_curves, plot_evacuation_curves

    base = np.array([0.0, 1.0, 2.0, 3.0])
    assert coinciding_curves([base, base + 0.5, base + 0.6, base + 1.0, base + 3.0]) == \
        [0, 0, 2, 2, 4]
    assert coinciding_curves([base, base + 2.0, base + 2.0]) == [0, 1, 1]
    open_ = {"out_time_s": np.array([10.0, 20.0, 30.0])}
    late = {"out_time_s": np.array([10.0, 25.0, 60.0])}
    maps = {"open": [open_], "blocked": [open_], "locked": [late], "no_help": [open_]}
    stats = [{"label": k, "runs": 1, "occupants": 3, "time_limit_s": None} for k in maps]
    fig, ax = plt.subplots()
    plot_evacuation_curves(ax, maps, stats)
    curves = [line for line in ax.get_lines() if len(line.get_xdata()) > 2]
    key = [t.get_text() for t in ax.get_legend().get_texts()]
    assert key == ["open (1 run)", "blocked (1 run), the same as open", "locked (1 run)",
                   "no_help (1 run), the same as open"]
    assert [line.get_linestyle() for line in curves] == ["-", "--", "-", "--"]
    # The two over 'open' are dashed in turn, so all three colours show on the drawn line
    # (the key taken away: it has every colour anyway).
    ax.get_legend().remove()
    fig.canvas.draw()
    image = np.asarray(fig.canvas.buffer_rgba())[:, :, :3].astype(int)
    plt.close(fig)
    for line in (curves[0], curves[1], curves[3]):
        rgb = np.array([int(line.get_color()[i:i + 2], 16) for i in (1, 3, 5)])
        assert np.count_nonzero(np.abs(image - rgb).sum(axis=2) < 40) > 100, line.get_color()


def test_the_times_plot_rings_the_last_walk_out_of_runs_where_someone_was_overcome():
    """In a smoke drill every run may have someone overcome, and none an evacuation time:
    the plot then shows when the last of those who walked out left, as rings, on their
    scale, not the time simulated."""
    import matplotlib.pyplot as plt

    from sim.report import plot_times

    st = {"label": "lane_clear", "evacuation_time_s": [None, 400.0, None], "median_s": None,
          "p95_s": None, "runs": 3, "runs_not_everyone_out": 2, "runs_left_inside": 1,
          "lower_bound_s_median": 100.0, "time_limit_s": 1800.0,
          "last_out_s_someone_overcome": [586.0, None, None]}
    fig, ax = plt.subplots()
    plot_times(ax, [st])
    dots, rings = ax.collections[0], ax.collections[1]
    assert dots.get_offsets()[:, 1].tolist() == [400.0]
    assert rings.get_offsets()[:, 1].tolist() == [586.0]
    assert len(rings.get_facecolors()) == 0  # hollow
    assert 586.0 < ax.get_ylim()[1] < 1800.0
    assert "○ last walk-out, someone overcome" in ax.get_title()
    plt.close(fig)
    fig, ax = plt.subplots()
    plot_times(ax, [{**st, "evacuation_time_s": [None] * 3, "last_out_s_someone_overcome":
                     [586.0, 500.0, None]}])
    assert ax.collections[0].get_offsets()[:, 1].tolist() == [586.0, 500.0]
    assert 586.0 < ax.get_ylim()[1] < 1800.0
    plt.close(fig)


def test_with_more_than_four_variants_the_density_maps_drawn_are_those_that_differ_most():
    """Six variants (the tower): the maps of the reference and of the three that differ most
    from it are drawn, not the first four in the file, which may leave out a locked exit."""
    from sim.report import density_rows

    ref = np.zeros(10)
    peaks = {"clear": ref, "blocked": ref + 0.01, "no_help": ref, "wedged": ref + 0.5,
             "both": ref + 0.4, "rear_locked": ref + 1.0}
    stats = [{"label": k} for k in peaks]
    assert [s["label"] for s in density_rows(stats, peaks)] == \
        ["clear", "wedged", "both", "rear_locked"]
    assert [s["label"] for s in density_rows(stats[:4], peaks)] == \
        ["clear", "blocked", "no_help", "wedged"]


def test_the_results_table_gives_the_last_walk_out_where_nobody_could_be_timed_as_all_out(
        nursing_comparison, tmp_path):
    """A smoke drill where someone is overcome in most runs has no median time for everyone
    out: the results table then gives when the last of those who got out left, as the
    headline does; where the median exists, the column is left out (it would only confuse)."""
    from sim.report import _fmt, write_report

    out, result = nursing_comparison
    doc = json.loads((out / "comparison.json").read_text())
    maps = {st["label"]: [np.load(out / "runs" / st["label"] / f"seed-{s}" / "maps.npz")
                          for s in doc["seeds"]] for st in doc["variants"]}
    scenario = load_scenario(NURSING, "rear_open")
    head = "<th>last of those who got out, median</th>"
    assert all(st["median_s"] is not None for st in doc["variants"])
    assert head not in (out / "report.html").read_text()
    lost = {**doc, "variants": [{**st, "median_s": None, "p95_s": None,
                                 "runs_not_everyone_out": st["runs"], "runs_left_inside": 0}
                                for st in doc["variants"]]}
    text = write_report(lost, maps, scenario, tmp_path).read_text()
    assert head in text
    results = text[text.index("<h2>Results</h2>"):]
    for st in doc["variants"]:
        row = results[results.index(f"<tr><td>{st['label']}</td>"):]
        cells = row[:row.index("</tr>")].split("<td>")
        # (variant, locked, median, 95th, range, not all out, last walk-out, flow bound)
        assert cells[7].startswith(_fmt(st["last_out_median_s"])), cells


def test_the_density_maps_show_where_the_fire_burned(nursing_comparison):
    import matplotlib.pyplot as plt

    from sim.report import plot_map

    out, _ = nursing_comparison
    run = out / "runs" / "rear_open" / "seed-1"
    with np.load(run / "maps.npz") as maps, np.load(run / "record.npz") as rec:
        burning = maps["burning"]
        assert burning.any()
        assert np.array_equal(burning, np.isfinite(rec["cell_burning_s"]))
    b = load_scenario(NURSING, "rear_open").building

    def fire_pixels(fire) -> int:
        fig, ax = plt.subplots(figsize=(6, 3))
        plot_map(ax, b, np.zeros(b.n_cells), 0, "map", 1.0, "density", [], fire)
        fig.canvas.draw()
        img = np.asarray(fig.canvas.buffer_rgba())[..., :3].astype(int)
        plt.close(fig)
        return int(np.count_nonzero(np.abs(img - (255, 80, 20)).sum(axis=2) < 60))

    assert fire_pixels(burning) > 50 and fire_pixels(None) == 0
