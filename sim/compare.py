"""Comparisons over seeds: ``drillsim compare`` and ``drillsim criticality``.

Statistics are over runs with the same seeds for every variant. A run in which someone was
still inside at the time limit has no evacuation time; it counts as "not everyone out" and as
infinitely long in the percentiles (never as the time limit), so a result is never flattered.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from .batch import RECORD_EVERY_S, make_jobs, run_jobs
from .errors import ScenarioError
from .record import write_atomic_text
from .run import format_duration, seconds_apart
from .scenario import BASE_VARIANT, declares_base, list_variants, load_scenario
from .validation import did_you_mean
from .variantdiff import variant_changes

SCHEMA = "drillsim.comparison/1"


def percentile(values, q: float) -> float:
    """The q-th percentile without interpolation (so an unfinished run stays infinite)."""
    arr = np.asarray(values, dtype=float)
    return float(np.percentile(arr, q, method="inverted_cdf")) if arr.size else math.nan


def variant_stats(label: str, summaries: list[dict], out_times: list[np.ndarray]) -> dict:
    times = [s["evacuation_time_s"] if s["evacuation_time_s"] is not None else math.inf
             for s in summaries]
    exits = list(summaries[0]["exits"])
    bounds = [s.get("lower_bound_s") for s in summaries]
    return {
        "label": label,
        "variant": summaries[0]["variant"],
        "locked": sorted({e for s in summaries for e, v in s["exits"].items()
                          if v["locked_at_start"]}),
        "runs": len(summaries),
        "seeds": [s["seed"] for s in summaries],
        "evacuation_time_s": [None if math.isinf(t) else t for t in times],
        # (per run: when the last of those who walked out left, in runs that ended with
        # nobody inside but someone overcome by smoke, which have no evacuation time; else
        # null. The times plot shows them apart.)
        "last_out_s_someone_overcome": [
            s.get("last_out_s") if s["evacuation_time_s"] is None and s["inside"] == 0
            else None for s in summaries],
        "median_s": _finite(percentile(times, 50)),
        "p95_s": _finite(percentile(times, 95)),
        "min_s": _finite(min(times)),
        "max_s": _finite(max(times)),
        "runs_not_everyone_out": int(sum(math.isinf(t) for t in times)),
        # (of those, the runs that left people inside who could still have got out: the rest
        # are runs where someone was overcome by smoke)
        "runs_left_inside": int(sum(s["inside"] > 0 for s in summaries)),
        "max_still_inside": int(max(s["inside"] for s in summaries)),
        "occupants": summaries[0]["occupants"],
        "casualties_mean": float(np.mean([s["casualties"] for s in summaries])),
        "exit_usage_mean": {e: float(np.mean([s["exits"][e]["evacuated"] for s in summaries]))
                            for e in exits},
        "locked_exit_discoveries_mean": float(np.mean([s["locked_exit_discoveries"]
                                                       for s in summaries])),
        "told_of_locked_exits_mean": float(np.mean([s["told_of_locked_exits"]
                                                    for s in summaries])),
        "lower_bound_s_median": _finite(percentile([b for b in bounds if b is not None], 50))
        if any(b is not None for b in bounds) else None,
        "time_limit_s": summaries[0]["simulated_s"] if any(math.isinf(t) for t in times)
        else None,
        **_drill_stats(summaries),
    }


def _drill_stats(summaries: list[dict]) -> dict:
    """With a fire: exposure; with a drill: when each profile was out, and how often each KPI
    was met. Means over runs (per-profile times: median, null if any run left one inside)."""
    out: dict = {}
    s0 = summaries[0]
    out["last_out_median_s"] = _finite(percentile(
        [s["last_out_s"] if s.get("last_out_s") is not None else math.inf
         for s in summaries], 50))
    if "harmed" in s0:
        out.update({
            "hazard": True,
            "harmed_mean": float(np.mean([s["harmed"] for s in summaries])),
            # (runs in which anyone was: said so where fewer than one a run)
            "runs_harmed": int(sum(s["harmed"] > 0 for s in summaries)),
            "runs_with_casualties": int(sum(s["casualties"] > 0 for s in summaries)),
            # (of the casualties, those caught where the fire spread, not overcome by smoke)
            "caught_by_fire_mean": float(np.mean([s.get("caught_by_fire", 0)
                                                  for s in summaries])),
            "runs_caught_by_fire": int(sum(s.get("caught_by_fire", 0) > 0 for s in summaries)),
            "occupant_seconds_in_smoke_mean": float(np.mean(
                [s["occupant_seconds_in_smoke"] for s in summaries])),
            "peak_fed_max": float(max(s["peak_fed"] for s in summaries)),
        })
    if "profiles" in s0:
        out["profile_all_out_median_s"] = {
            p: _finite(percentile([s["profiles"][p]["all_out_s"]
                                   if s["profiles"][p]["all_out_s"] is not None else math.inf
                                   for s in summaries], 50))
            for p in s0["profiles"]}
    arrivals = sorted({r["actor"] for s in summaries for r in s.get("timeline", ())
                       if r["action"] == "arrive" and r.get("actor")})
    if arrivals:  # (off-site responders: when each was on scene, median run; None if never)
        out["on_scene_median_s"] = {
            a: _finite(percentile([next((r["actual_s"] for r in s["timeline"]
                                         if r["action"] == "arrive" and r.get("actor") == a
                                         and r["actual_s"] is not None), math.inf)
                                   for s in summaries], 50))
            for a in arrivals}
    lying = [s for s in summaries
             if s.get("casualties_carried_out") or s.get("casualties_left_inside")]
    if lying:  # (runs where anyone overcome lay inside: when responders had them all out)
        out["runs_with_casualties_inside"] = len(lying)
        out["casualties_out_median_s"] = _finite(percentile(
            [s["last_casualty_carried_out_s"] if s.get("last_casualty_carried_out_s")
             is not None else math.inf for s in lying], 50))
    if s0.get("kpis"):
        out["kpis_met"] = {k["name"]: sum(bool(s["kpis"][i]["met"]) for s in summaries)
                           for i, k in enumerate(s0["kpis"])}
        out["kpi_targets"] = {k["name"]: k["target"] for k in s0["kpis"]}
    return out


def _finite(x: float) -> float | None:
    return None if (x is None or math.isinf(x) or math.isnan(x)) else round(float(x), 2)


def bootstrap_median_difference(a: list[float], b: list[float], n: int = 2000,
                                seed: int = 0) -> tuple[float, float]:
    """95 % bootstrap interval of median(b) - median(a) (seeded: reproducible)."""
    rng = np.random.default_rng(seed)
    a_arr, b_arr = np.asarray(a, float), np.asarray(b, float)
    da = np.median(rng.choice(a_arr, (n, a_arr.size)), axis=1)
    db = np.median(rng.choice(b_arr, (n, b_arr.size)), axis=1)
    with np.errstate(invalid="ignore"):  # (runs not everyone out are inf: inf - inf)
        diff = db - da
    diff = diff[np.isfinite(diff)]
    if diff.size == 0:
        return math.inf, math.inf
    return float(np.percentile(diff, 2.5)), float(np.percentile(diff, 97.5))


def headline(reference: dict, other: dict) -> str:
    """One plain sentence (or two) on what ``other`` costs against ``reference``."""
    new_locks = [e for e in other["locked"] if e not in reference["locked"]]
    label = other["label"]
    if new_locks and label.startswith("without "):
        # (criticality: the exit is taken away, and nothing in the run unlocks it)
        what = f"With {' and '.join(new_locks)} locked throughout"
    elif new_locks and label.endswith("locked"):
        what = f"With {' and '.join(new_locks)} locked"  # the lock is all that differs
    elif new_locks:
        what = f"In '{label}' ({' and '.join(new_locks)} locked)"
    elif label.startswith("without door "):  # (criticality; doors are not in ``locked``)
        what = f"With door {label.removeprefix('without door ')} locked throughout"
    else:
        what = f"In the '{label}' variant"
    n = other["runs"]
    runs = "1 run" if n == 1 else f"{n} runs"
    words = []
    # People left inside (not casualties), said against the reference, which may leave some too
    # (a drill whose alarm never comes, a time limit too short): then it is not the lock's doing.
    ref_left = reference["max_still_inside"]
    in_ref = (f"{reference['runs_not_everyone_out']} of {reference['runs']} runs (up to "
              f"{ref_left:,}) in '{reference['label']}'")
    if other["max_still_inside"]:
        words.append(f"{what}, in {other['runs_not_everyone_out']} of {runs} people were still "
                     f"inside when the simulation stopped (up to {other['max_still_inside']:,} of "
                     f"{other['occupants']:,})" + (f", against {in_ref}." if ref_left else "."))
    elif ref_left:
        apart = " apart from those overcome" if other.get("casualties_mean") else ""
        words.append(f"{what}, nobody was still inside when the simulation stopped{apart}, "
                     f"against {in_ref}.")
    if other.get("hazard"):
        words.append(
            f"{what}, "
            + _how_often(reference, other, "casualties_mean", "runs_with_casualties",
                         overcome_by(reference, other)) + ", "
            + _how_often(reference, other, "harmed_mean", "runs_harmed",
                         "harmed (FED 0.3 or more)")
            + f", and occupants spent {other['occupant_seconds_in_smoke_mean']:,.0f} "
            "person-seconds in smoke" + _same_or_against(
                f"{other['occupant_seconds_in_smoke_mean']:,.0f}",
                f"{reference['occupant_seconds_in_smoke_mean']:,.0f}", reference["label"])
            + ".")
    r95, o95 = reference["p95_s"], other["p95_s"]
    given = (None, None)  # (other's, reference's) time of the last out, if given below
    if r95 is not None and o95 is not None:
        given = (other["median_s"], reference["median_s"])
        diff = seconds_apart(o95, r95)
        when = "at the same time" if diff == 0 else \
            f"{format_duration(abs(diff))} {'later' if diff > 0 else 'earlier'}"
        over = "in the one run" if n == 1 else f"95th percentile over {n} runs"
        words.append(f"{what}, the last person is out {when} ({over}: "
                     f"{format_duration(o95)} against {format_duration(r95)}).")
        med = seconds_apart(other["median_s"], reference["median_s"])
        if n > 1:  # (with one run the median is that run, just given)
            # ("... after 1 min 25 s instead of 1 min 25 s" where the two round alike)
            words.append(f"In the median run everyone is out after "
                         f"{format_duration(other['median_s'])}, "
                         + _against(other["median_s"], reference["median_s"],
                                    reference["label"]) + ".")
        words.append(_within_spread(reference, other, med, runs))
    elif other["median_s"] is not None and reference["median_s"] is not None:
        # Everyone out in most runs, not in all (someone overcome, or left inside when the
        # simulation stopped: said above): the median run, as the results table gives it.
        given = (other["median_s"], reference["median_s"])
        words.append(f"{what}, in the median run everyone is out after "
                     f"{format_duration(other['median_s'])}, "
                     + _against(other["median_s"], reference["median_s"], reference["label"])
                     + ".")
        words.append(_within_spread(reference, other,
                                    seconds_apart(other["median_s"], reference["median_s"]),
                                    runs))
    elif other.get("casualties_mean") or reference.get("casualties_mean"):
        # Not everyone out because some were overcome: the last of those who got out.
        r_last, o_last = reference.get("last_out_median_s"), other.get("last_out_median_s")
        if r_last is not None and o_last is not None:
            given = (o_last, r_last)
            which = "the run" if n == 1 else "the median run"
            words.append(f"{what}, the last of those who got out left after "
                         f"{format_duration(o_last)} in {which}, "
                         + _against(o_last, r_last, reference["label"]) + ".")
    slow = _slowest_profile(reference, other)
    if slow is not None:
        name, o_t, r_t = slow
        # (a kind's time is the median of its own last-out times over the runs, not of the
        # median run: "everyone out after 4 min 37 s in the median run ... the last adult was
        # out after 4 min 36 s in the median run" read as a contradiction)
        which = "in the run" if n == 1 else f"(the median of {n} runs)"
        noun = _PROFILE_NOUNS.get(name, f"{name.replace('_', ' ')} occupant")
        article = "an" if noun[0] in "aeiou" else "a"
        if _same_second(o_t, given[0]) and _same_second(r_t, given[1]):
            # (the times were just given: only who it was is news)
            both = "in both runs" if n == 1 else "in the median run of both"
            words.append(f"The last out was {article} {noun}, {both}.")
        elif _same_second(o_t, given[0]):  # (other's time was just given; not the reference's)
            words.append(f"The last out was {article} {noun}; in '{reference['label']}' the "
                         f"last {noun} was out after {format_duration(r_t)}.")
        else:
            words.append(f"The last {noun} was out after {format_duration(o_t)} {which}, "
                         + _against(o_t, r_t, reference["label"]) + ".")
    words += _arrivals(reference, other, n)
    words += _rescues(reference, other, n)
    found = other["locked_exit_discoveries_mean"]
    if found >= 0.5:
        told = other["told_of_locked_exits_mean"]
        words.append(f"On average {_people(found)} walked up to a locked exit"
                     + (f" and {_half_up(told):,} more heard of it from others." if told >= 0.5
                        else "."))
    if n == 1:
        words.append("One run only: the model is random, so run more seeds before relying on "
                     "any difference.")
    elif n < 10:
        # (The 95th percentile is given only where everyone got out in some run.)
        rough = "the 95th percentile" if r95 is not None and o95 is not None else \
            "these figures"
        words.append(f"Only {n} runs: treat {rough} as rough.")
    return " ".join(w for w in words if w)


def _within_spread(reference: dict, other: dict, med: float, runs: str) -> str:
    """A caution where the difference in the median is within the run-to-run spread (95 %
    bootstrap interval of the difference holding 0), else nothing."""
    if "evacuation_time_s" not in reference or "evacuation_time_s" not in other:
        return ""
    lo, hi = bootstrap_median_difference(reference["evacuation_time_s"],
                                         other["evacuation_time_s"])
    if lo <= 0.0 <= hi:
        return (f"The difference ({_signed_s(med)} in the median) is within the run-to-run "
                f"spread of {runs}: run more seeds before relying on it.")
    return ""


def overcome_by(*stats: dict) -> str:
    """How the casualties of these variants (or ranking entries) came about, in words:
    "overcome by smoke", or "overcome by smoke or fire" where anyone, in any of their runs,
    was caught where the fire spread (counted among the casualties too)."""
    caught = any(s.get("runs_caught_by_fire") for s in stats)
    return "overcome by smoke or fire" if caught else "overcome by smoke"


def _how_often(reference: dict, other: dict, mean: str, runs: str, what: str) -> str:
    """'on average 22.0 people were overcome by smoke (against 6.0)'; where it happens to
    fewer than one a run in both, in how many runs: 'someone was overcome by smoke in 3 of 10
    runs (against 1)' ("0.2 people" is no way to speak of people). The same figure in both
    is said as such: "in 2 of 10 runs, as in 'rear_open'" (not "(against 2)")."""
    same = f", as in '{reference['label']}'"
    if other[mean] < 1 and reference[mean] < 1 and runs in other and runs in reference:
        o_k, r_k, n = other[runs], reference[runs], other["runs"]
        if n == 1:  # (one run each: whether anyone was)
            who = "someone" if o_k else "nobody"
            if bool(o_k) == bool(r_k):
                return f"{who} was {what}, as in the reference"
            return f"{who} was {what} ({'someone' if r_k else 'nobody'} in the reference)"
        if o_k == 0:
            return f"nobody was {what}" + (f" (against {r_k} of {n} runs)" if r_k
                                           else " in any run")
        return f"someone was {what} in {o_k} of {n} runs" + (
            same if o_k == r_k else f" (against {r_k})")
    o, r = f"{other[mean]:.1f}", f"{reference[mean]:.1f}"
    return f"on average {o} people were {what}" + (same if o == r else f" (against {r})")


# How a headline names one of a profile (a profile of its own: "<name> occupant").
_PROFILE_NOUNS = {"adult": "adult", "staff": "member of staff", "visitor": "visitor",
                  "elderly": "elderly person", "child": "child",
                  "mobility_impaired": "person with impaired mobility",
                  "wheelchair": "wheelchair user", "bedridden": "bedridden resident"}


def _same_second(a: float | None, b: float | None) -> bool:
    return a is not None and b is not None and round(a) == round(b)


def _against(other_s: float, reference_s: float, reference: str) -> str:
    """'against 6 min 35 s', or "as in 'rear_open'" when the two round to the same second."""
    if _same_second(other_s, reference_s):
        return f"as in '{reference}'"
    return f"against {format_duration(reference_s)}"


def _half_up(x: float) -> int:
    """``x`` rounded half up: a mean of 0.5 said as 1, not as 0 (Python rounds half to even,
    and 'On average 0 people walked up' followed a test of 0.5 or more)."""
    return int(math.floor(x + 0.5))


def _same_or_against(shown: str, ref_shown: str, ref_label: str) -> str:
    """' (against 3,733)', or ", as in 'lane_clear'" where the two figures read the same."""
    return f", as in '{ref_label}'" if shown == ref_shown else f" (against {ref_shown})"


ARRIVAL_NEWS_S = 10  # responders' arrivals this much apart (or more) make the headline


def _arrivals(reference: dict, other: dict, n: int) -> list[str]:
    """A sentence for each responder (an off-site actor) on scene at least ARRIVAL_NEWS_S
    sooner or later than in the reference (median run): a blocked fire lane costs the
    occupants nothing once they are out, but it is what the drill is about. (A few seconds
    follow from when the alarm was raised, and are not what the variant changes.)"""
    a = reference.get("on_scene_median_s") or {}
    b = other.get("on_scene_median_s") or {}
    which = "the run" if n == 1 else "the median run"
    out = []
    for actor, o_t in b.items():
        r_t = a.get(actor)
        who = actor.replace("_", " ")
        if o_t is None and r_t is not None:
            out.append(f"The {who} never arrived in {which}; in '{reference['label']}', after "
                       f"{format_duration(r_t)}.")
        elif o_t is not None and r_t is not None and \
                abs(seconds_apart(o_t, r_t)) >= ARRIVAL_NEWS_S:
            diff = seconds_apart(o_t, r_t)
            out.append(f"The {who} arrived after {format_duration(o_t)} in {which}, "
                       f"{format_duration(abs(diff))} {'later' if diff > 0 else 'sooner'} "
                       f"than in '{reference['label']}'.")
    return out


def _rescues(reference: dict, other: dict, n: int) -> list[str]:
    """A sentence on when responders had everyone overcome inside out of the building, where
    that is at least ARRIVAL_NEWS_S sooner or later than in the reference (median over the
    runs in which anyone overcome lay inside): what a late brigade costs those who could not
    get out by themselves. Where those runs are not all the runs of both, both medians are
    given with how many runs each is of (they are medians of different runs). Where anyone
    lay inside in fewer than half the runs of either, nothing: the sentence on how often
    anyone was overcome says what there is to say (the nursing home, 2 runs of 10 against 1),
    and the smoke table gives the figures."""
    if "runs_with_casualties_inside" not in reference or \
            "runs_with_casualties_inside" not in other:
        return []
    r_t, o_t = reference["casualties_out_median_s"], other["casualties_out_median_s"]
    k_o, k_r = other["runs_with_casualties_inside"], reference["runs_with_casualties_inside"]
    if 2 * min(k_o, k_r) < n:
        return []
    ref = reference["label"]
    if o_t is not None and r_t is not None and abs(seconds_apart(o_t, r_t)) < ARRIVAL_NEWS_S:
        return []
    if o_t is None and r_t is None:
        return []
    said = "not all carried out" if o_t is None else f"carried out after {format_duration(o_t)}"
    if k_o == k_r == n:
        which = "the run" if n == 1 else "the median run"
        if o_t is None:
            return [f"Those overcome inside were not all carried out by the end of {which}; in "
                    f"'{ref}' the last was out after {format_duration(r_t)}."]
        if r_t is None:
            return [f"The last of those overcome inside was carried out after "
                    f"{format_duration(o_t)} in {which}; in '{ref}' they were not all carried "
                    "out."]
        diff = seconds_apart(o_t, r_t)
        return [f"The last of those overcome inside was carried out after "
                f"{format_duration(o_t)} in {which}, {format_duration(abs(diff))} "
                f"{'later' if diff > 0 else 'sooner'} than in '{ref}'."]
    theirs = "not all carried out" if r_t is None else format_duration(r_t)
    return [f"The last of those overcome inside was {said} (the median of the {k_o} of {n} "
            f"runs in which anyone was overcome inside; in '{ref}', {theirs}, the median of "
            f"{k_r})."]


def _people(x: float) -> str:
    return "1 person" if _half_up(x) == 1 else f"{_half_up(x):,} people"


def _slowest_profile(reference: dict, other: dict):
    """(profile, other's median, reference's median) for the profile that is out last in
    ``other`` (the variant the headline is about), when a drill reports profiles and both
    medians exist."""
    a = reference.get("profile_all_out_median_s") or {}
    b = other.get("profile_all_out_median_s") or {}
    both = [p for p in a if a[p] is not None and b.get(p) is not None]
    if len(a) < 2 or not both:
        return None
    p = max(both, key=lambda k: b[k])
    return p, b[p], a[p]


def ranking_key(r: dict) -> tuple:
    """Costliest first: runs that left people inside (and the most left in one), then people
    overcome by smoke, then the extra time (:func:`ranking_extra_s`)."""
    return (-r["runs_left_inside"], -r["max_still_inside"], -(r["casualties_mean"] or 0.0),
            -ranking_extra_s(r))


def ranking_extra_s(r: dict) -> float:
    """What a criticality ranking entry adds, in seconds, for ordering: the extra time until
    everyone is out (95th percentile); where someone was overcome in a run, that of the median
    run while everyone was out in it (as the headline gives it), else that of the last of those
    who got out (median run); else infinite (people left inside)."""
    for key in ("extra_p95_s", "extra_median_s", "extra_last_out_median_s"):
        if r.get(key) is not None:
            return r[key]
    return math.inf


def ranking_line(r: dict) -> str:
    """A ranking entry's cost in words, as ``drillsim criticality`` prints it."""
    if r["extra_p95_s"] is not None:
        return f"{_signed_s(r['extra_p95_s'])}"
    if r["runs_left_inside"]:
        return (f"not everyone out ({r['runs_left_inside']} of {r['runs']} runs; up to "
                f"{r['max_still_inside']} left inside)")
    k = r["runs_not_everyone_out"]
    if r.get("extra_median_s") is not None:
        return (f"{_signed_s(r['extra_median_s'])} in the median run (someone "
                f"{overcome_by(r)} in {k} of {r['runs']} runs)")
    if r.get("extra_last_out_median_s") is not None:
        return (f"{_signed_s(r['extra_last_out_median_s'])} for the last of those who got out "
                f"(median run; someone {overcome_by(r)} in {k} of {r['runs']} runs)")
    return "not everyone out"


def _signed_s(x: float) -> str:
    """'+12 s', '-3 s', '+0 s' (never '-0 s')."""
    return f"{int(round(x)) or 0:+d} s"


def reference_of(stats: list[dict]) -> dict:
    """The variant the others are compared with: the first with the fewest locked exits."""
    return min(stats, key=lambda s: len(s["locked"]))


def load_maps(jobs, summaries) -> dict:
    grouped: dict[str, list] = {}
    for job in jobs:
        with np.load(Path(job.out_dir) / "maps.npz") as data:
            grouped.setdefault(job.label, []).append({k: data[k] for k in data.files})
    return grouped


def default_variants(scenario_path: str | Path) -> list[str]:
    """The variants a comparison runs unless told: those in ``[variants]``, with ``base`` (the
    scenario as written) only when there are none or ``[variants.base]`` describes it."""
    names = list_variants(scenario_path)
    if declares_base(scenario_path):
        return names
    return [v for v in names if v != BASE_VARIANT] or [BASE_VARIANT]


def compare(scenario_path: str | Path, variants: list[str] | None, seeds: int, workers: int | None,
            out: str | Path, progress: bool = True) -> dict:
    """Run ``variants`` (default: all but ``base`` when others exist, unless the file describes
    ``base`` in ``[variants.base]``) over ``seeds`` seeds and write ``comparison.json`` and
    ``report.html`` with figures into ``out``."""
    names = list_variants(scenario_path)
    if variants is None:
        variants = default_variants(scenario_path)
    for v in variants:
        if v not in names:
            raise ScenarioError(str(scenario_path), [f"--variants: '{v}'{did_you_mean(v, names)} "
                                                     "is not a variant; this scenario has: "
                                                     + ", ".join(names)])
    twice = sorted({v for v in variants if variants.count(v) > 1})
    if twice:  # (its runs would be pooled under one name, and the variant set against itself)
        raise ScenarioError(str(scenario_path), [
            f"--variants: {', '.join(repr(v) for v in twice)} given more than once; each "
            "variant is run once over the seeds (--seeds N runs more)"])
    base = load_scenario(scenario_path)
    seed_list = [base.seed + k for k in range(seeds)]
    labels = [(v, v, ()) for v in variants]
    return _study(scenario_path, labels, seed_list, workers, out, progress, kind="comparison")


def criticality(scenario_path: str | Path, seeds: int, workers: int | None, out: str | Path,
                include_doors: bool = False, variant: str | None = None,
                progress: bool = True) -> dict:
    """Lock each exit (and, with ``include_doors``, each named door) in turn on the base
    variant and rank them by what losing them costs."""
    sc = load_scenario(scenario_path, variant)
    v = sc.variant
    labels = [(f"{v} (as is)", v, ())]
    for e in sc.building.exits:
        if e.name not in sc.locked:
            labels.append((f"without {e.name}", v, (e.name,)))
    if include_doors:
        for d in sc.building.doors:
            if d.is_named and d.name not in sc.locked:
                labels.append((f"without door {d.name}", v, (d.name,)))
    seed_list = [sc.seed + k for k in range(seeds)]
    return _study(scenario_path, labels, seed_list, workers, out, progress, kind="criticality")


def _study(scenario_path, labels, seed_list, workers, out, progress, kind) -> dict:
    from .report import write_report

    out = Path(out)
    jobs = make_jobs(scenario_path, labels, seed_list, out)
    summaries = run_jobs(jobs, workers, progress, desc=kind)
    maps = load_maps(jobs, summaries)
    stats = []
    for label, _, _ in labels:
        mine = [s for j, s in zip(jobs, summaries) if j.label == label]
        stats.append(variant_stats(label, mine, [m["out_time_s"] for m in maps[label]]))
    ref = reference_of(stats) if kind == "comparison" else stats[0]
    sentences = {s["label"]: headline(ref, s) for s in stats if s is not ref}
    ranking = []
    if kind == "criticality":
        for s in stats[1:]:
            # (Differences of the times as shown, as the headlines give them.)
            extra_med = None if s["median_s"] is None or ref["median_s"] is None else \
                seconds_apart(s["median_s"], ref["median_s"])
            extra_p95 = None if s["p95_s"] is None or ref["p95_s"] is None else \
                seconds_apart(s["p95_s"], ref["p95_s"])
            # With someone overcome in a run there is no 95th percentile: the median run
            # stands in for it while everyone was out in it, else the last of those who got
            # out (median run).
            extra_last = None if s["last_out_median_s"] is None or \
                ref["last_out_median_s"] is None else \
                seconds_apart(s["last_out_median_s"], ref["last_out_median_s"])
            ranking.append({"label": s["label"], "extra_median_s": extra_med,
                            "extra_p95_s": extra_p95, "extra_last_out_median_s": extra_last,
                            "runs": s["runs"],
                            "runs_not_everyone_out": s["runs_not_everyone_out"],
                            "runs_left_inside": s["runs_left_inside"],
                            "max_still_inside": s["max_still_inside"],
                            "casualties_mean": s["casualties_mean"],
                            "runs_caught_by_fire": s.get("runs_caught_by_fire", 0)})
        ranking.sort(key=ranking_key)
    sc0 = load_scenario(scenario_path, labels[0][1])
    variants_said = {}
    if kind == "comparison":
        # What each variant is, in the file's words and as what it changes against the
        # scenario as written: the report is sent to people who have not read the file.
        base = load_scenario(scenario_path)
        for label, v, _ in labels:
            sc = load_scenario(scenario_path, v)
            variants_said[label] = {"description": sc.variant_description,
                                    "changes": variant_changes(base, sc)}
    result = {"schema": SCHEMA, "kind": kind, "scenario": sc0.name, "title": sc0.title,
              "scenario_file": str(scenario_path), "seeds": seed_list,
              "reference": ref["label"], "variants": stats, "headlines": sentences,
              "ranking": ranking, "frame_interval_s": RECORD_EVERY_S,
              "variants_described": variants_said,
              "runs": [{"label": j.label, "seed": j.seed, "summary": str(Path(j.out_dir) /
                                                                          "summary.json")}
                       for j in jobs]}
    write_atomic_text(out / "comparison.json", json.dumps(result, indent=1, ensure_ascii=False))
    write_report(result, maps, sc0, out)
    return result
