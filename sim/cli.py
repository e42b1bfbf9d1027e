"""The ``drillsim`` command line.

Exit codes: 0 success; 2 for any user error (a bad file, a check that finds problems, a bad
argument), with a message and no traceback; 130 when interrupted; 1 when ``bench`` finds that
the same seed gave two different runs (a bug to report).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .errors import DrillsimError, InputError

DEMO_SCENARIO = "hall"
DEMO_VARIANTS = ("all_open", "two_locked")
DEMO_SEEDS = 10


def _positive_seconds(text: str) -> float:
    """A time on the command line: seconds > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds > 0, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected seconds > 0, got {text}")
    return value


def output_folder(path: str | Path, option: str, given: str | Path | None = None) -> Path:
    """The folder ``path`` for the output given as ``option`` (``given``: the value given,
    if the output is a file in that folder), checked before any work starts: an error that
    says why if it could not be made or written to (a file of that name, a file on the way
    to it, no permission). Nothing is made here: the writers make it."""
    folder = Path(path)
    there = folder.absolute()
    while not there.exists():
        there = there.parent
    if given is None and there == folder.absolute() and not there.is_dir():
        raise DrillsimError(f"{option} {folder}: this is a file; expected a folder "
                            "(existing or to be made)")
    shown = folder if given is None else given
    if not there.is_dir():
        raise DrillsimError(f"{option} {shown}: {there} is a file, so nothing can be written "
                            "in it")
    if not os.access(there, os.W_OK | os.X_OK):
        raise DrillsimError(f"{option} {shown}: no permission to write in {there}")
    return folder


def output_file(path: str | Path, option: str) -> Path:
    """The file ``path`` given as ``option``, checked as :func:`output_folder` checks its
    folder; a folder of that name is an error too."""
    if Path(path).is_dir():
        raise DrillsimError(f"{option} {path}: this is a folder; expected a file name")
    output_folder(Path(path).parent, option, given=path)
    return Path(path)


def _seed(text: str) -> int:
    """A seed given on the command line: a whole number >= 0 (as in a scenario file)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {value}")
    return value


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="drillsim",
        description="Simulate building evacuations and combined fire drills.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run one scenario variant and write its outputs")
    run.set_defaults(func=cmd_run)
    run.add_argument("scenario", help="scenario file, or the name of a built-in scenario")
    run.add_argument("--variant", default=None, help="variant to run (default: base)")
    run.add_argument("--seed", type=_seed, default=None,
                     help="random seed, a whole number >= 0 (default: the file's)")
    run.add_argument("--out", default=None,
                     help="output folder (default: runs/SCENARIO-VARIANT-seedN)")
    run.add_argument("--json", action="store_true", help="print the summary JSON alone")
    run.add_argument("--frame-every", type=_positive_seconds, default=None, metavar="S",
                     help="seconds between recorded frames, rounded to whole time steps "
                          "(default: the scenario's, 1 s)")
    run.add_argument("--no-record", action="store_true", help="write the summary only")

    check = sub.add_parser("check", help="validate a building or scenario file")
    check.set_defaults(func=cmd_check)
    check.add_argument("file", help="building or scenario file (.toml), or the name of a "
                                    "built-in scenario or building")

    replay = sub.add_parser("replay", help="replay one run record, or two side by side, in "
                                             "the trainer window")
    replay.set_defaults(func=cmd_replay)
    replay.add_argument("runs", nargs="+", metavar="RUN",
                        help="run record (record.npz) or the folder holding it; at most two")
    replay.add_argument("--frames", default=None, metavar="DIR",
                        help="render frames to PNG files in DIR instead of opening a window")
    replay.add_argument("--every", type=int, default=1, metavar="N",
                        help="with --frames: every N-th recorded frame (default 1)")
    replay.add_argument("--floor", default=None, metavar="F",
                        help="the floor to show (with --frames, the only one): its name or "
                             "number, 1 the first (default 1)")

    comp = sub.add_parser("compare", help="run variants over the same seeds and write a "
                                          "report comparing them")
    comp.set_defaults(func=cmd_study)
    _add_study_arguments(comp)
    comp.add_argument("--variants", default=None, metavar="A,B,...",
                      help="variants to compare (default: all in [variants]; base too if "
                           "[variants.base] describes it)")

    crit = sub.add_parser("criticality", help="lock each exit in turn, for the whole run, "
                                              "and rank the exits by what losing them costs")
    crit.set_defaults(func=cmd_study)
    _add_study_arguments(crit)
    crit.add_argument("--variant", default=None, help="the variant to start from (default: base)")
    crit.add_argument("--doors", action="store_true", help="also lock each named door in turn")

    anim = sub.add_parser("animate", help="an animation (GIF or MP4) of one run, or two side "
                                          "by side")
    anim.set_defaults(func=cmd_animate)
    anim.add_argument("runs", nargs="+", metavar="RUN", help="run record(s): one or two")
    anim.add_argument("--out", required=True, help="output file, .gif or .mp4")
    anim.add_argument("--fps", type=int, default=10, help="frames per second (default 10)")
    anim.add_argument("--every", type=int, default=None, metavar="N",
                      help="every N-th recorded frame (default: at most 300 frames)")
    anim.add_argument("--floor", default=None, metavar="F",
                      help="the floor to show: its name or number, 1 the first (default 1)")
    anim.add_argument("--whole", action="store_true",
                      help="animate the whole record (default: until 10 s after the last "
                           "person is out; a drill may go on for minutes after that)")

    exp = sub.add_parser("export", help="export a run record as CSV or for PedPy")
    exp.set_defaults(func=cmd_export)
    exp.add_argument("run", help="run record (record.npz) or the folder holding it")
    exp.add_argument("--format", required=True, choices=("csv", "pedpy"))
    exp.add_argument("--out", required=True,
                     help="csv: a folder for trajectories.csv and evacuation_curve.csv; "
                          "pedpy: the .txt file to write")

    bench = sub.add_parser("bench", help="time runs of a scenario: wall time, simulated "
                                         "seconds per wall second, occupant-updates per second")
    bench.set_defaults(func=cmd_bench)
    bench.add_argument("scenario", help="scenario file, or the name of a built-in scenario")
    bench.add_argument("--variant", default=None, help="variant to run (default: base)")
    bench.add_argument("--seeds", type=int, default=3, help="timed runs, a seed each "
                                                              "(default 3)")
    bench.add_argument("--threads", type=int, default=None, metavar="N",
                       help="cores the kernels may use (1: one core; default: all)")
    bench.add_argument("--no-warmup", action="store_true",
                       help="skip the untimed first run that loads or compiles the kernels")
    bench.add_argument("--json", default=None, metavar="FILE",
                       help="also write the results to FILE (rewritten after every run)")

    ver = sub.add_parser("verify", help="run the verification suite (RiMEA, IMO, NIST, "
                                        "empirical data) and write verification.md")
    ver.set_defaults(func=cmd_verify)
    ver.add_argument("--out", default="docs", help="output folder (default: docs)")
    ver.add_argument("--fast", action="store_true", help="skip the slow tests")

    demo = sub.add_parser("demo", help="the built-in demonstration: the hall with all exits "
                                       "open and with two locked, side by side")
    demo.set_defaults(func=cmd_demo)
    demo.add_argument("--out", default="runs/demo", help="output folder (default: runs/demo)")
    demo.add_argument("--seed", type=_seed, default=1)
    demo.add_argument("--no-replay", action="store_true",
                      help="do not open the side-by-side replay at the end")
    return p


def _add_study_arguments(parser: argparse.ArgumentParser) -> None:
    """What compare and criticality share: the scenario, seeds, workers and output folder."""
    parser.add_argument("scenario", help="scenario file, or the name of a built-in scenario")
    parser.add_argument("--seeds", type=int, default=20, help="runs per case (default 20)")
    parser.add_argument("--workers", type=int, default=None,
                        help="worker processes (default: all cores)")
    parser.add_argument("--out", default=None,
                        help="output folder (default: runs/SCENARIO-comparison, or "
                             "runs/SCENARIO-criticality)")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.func(args)
    except DrillsimError as exc:
        print(f"drillsim: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("drillsim: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (``drillsim run ... | head``): stop quietly, as other tools do.
        # Python flushes stdout again at exit, which would fail again: point it at devnull.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # (128 + SIGPIPE, as a shell reports a tool killed by it)
    except OSError as exc:
        if exc.filename is None:
            raise
        # A file the system refused (full disk, no permission, a folder where a file goes):
        # the user's to fix, so a message, not a traceback.
        print(f"drillsim: error: {exc.filename}: {exc.strerror or exc}", file=sys.stderr)
        return 2


def cmd_run(args) -> int:
    from .run import format_summary, run_scenario
    from .scenario import load_scenario, resolve_scenario_path

    path = resolve_scenario_path(args.scenario)
    scenario = load_scenario(path, args.variant, args.seed)
    out = Path(args.out) if args.out else \
        Path("runs") / f"{scenario.name}-{scenario.variant}-seed{scenario.seed}"
    output_folder(out, "--out" if args.out else "the output folder")
    summary = run_scenario(scenario, out_dir=out, record=not args.no_record,
                           record_every_s=args.frame_every, progress=True)
    if args.json:
        print(json.dumps(summary, indent=2, ensure_ascii=False))
    else:
        print(format_summary(summary))
        print(f"  written: {out / 'summary.json'}"
              + ("" if args.no_record else f", {out / 'record.npz'}"))
    return 0


def cmd_check(args) -> int:
    from .validation import read_toml

    path = _checked_path(args.file)
    doc = read_toml(path, InputError)
    schema = doc.get("schema", "")
    if isinstance(schema, str) and schema.startswith("drillsim.building"):
        return _check_building(path)
    if isinstance(schema, str) and schema.startswith("drillsim.scenario"):
        return _check_scenario(path)
    raise InputError(str(path), [f"schema: got {schema!r}, expected \"drillsim.building/1\" "
                                 "or \"drillsim.scenario/1\" as the first key"])


def _checked_path(name: str) -> Path:
    """The file ``check`` reads: a path, or the name of a built-in scenario (as ``run`` takes
    it) or, if no scenario has that name, of a built-in building (``office_3f``)."""
    from .scenario import builtin_names, builtin_path
    from .validation import did_you_mean

    path = Path(name)
    if path.exists() or path.suffix == ".toml" or "/" in name or "\\" in name:
        return path
    found = builtin_path("scenario", name) or builtin_path("building", name)
    if found is None:
        known = builtin_names("scenario") + builtin_names("building")
        raise InputError(name, [
            f"no such file, and no built-in scenario or building of that name"
            f"{did_you_mean(name, known)}; built-in scenarios: "
            f"{', '.join(builtin_names('scenario'))}; buildings: "
            f"{', '.join(builtin_names('building'))}"])
    return found


def _check_building(path: Path) -> int:
    from .building import load_building
    from .graph import build_graph, check_graph, describe_graph

    b = load_building(path)
    g = build_graph(b)
    errors, warnings = check_graph(g)
    print(f"{path}: building '{b.name}' — {b.title}")
    print(f"  {len(b.floors)} floor(s), cells of {b.cell_m:g} m, {len(b.exits)} exits, "
          f"{sum(d.is_named for d in b.doors)} named doors, {len(b.stairs)} stairs")
    print("  " + describe_graph(g).replace("\n", "\n  "))
    for w in warnings:
        print(f"  warning: {w}")
    if errors:
        raise InputError(str(path), errors)
    print("  OK" + (f" ({len(warnings)} warning(s))" if warnings else ""))
    return 0


def _check_scenario(path: Path) -> int:
    from .graph import build_graph, check_graph
    from .scenario import list_variants, load_scenario
    from .variantdiff import variant_changes

    base = None
    for variant in list_variants(path):
        sc = load_scenario(path, variant)
        d = sc.drill
        drill = ""
        if not d.empty:
            members = sum(a.count for a in d.actors)
            drill = (f"; drill: {len(d.actors)} actor(s) ({members} people), "
                     f"{len(d.actions)} action(s), {len(d.kpis)} KPI(s)"
                     + (f", blocked roads: {', '.join(d.blocked_roads)}" if d.blocked_roads
                        else ""))
        fires = f"; fires: {', '.join(f.name for f in sc.fires)}" if sc.fires else ""
        print(f"{path} [{variant}]: {sc.occupants} occupants in '{sc.building.name}', "
              f"locked: {', '.join(sc.locked) or 'none'}, {len(sc.changes)} timed change(s)"
              f"{drill}{fires}")
        if base is None:
            base = sc
            continue
        changes = variant_changes(base, sc) or ["no change"]
        print("  against base: " + "\n                ".join(changes))
    _, warnings = check_graph(build_graph(sc.building))
    for w in warnings:
        print(f"  warning: {w}")
    print("  OK")
    return 0


def cmd_study(args) -> int:
    from .compare import compare, criticality, ranking_line
    from .scenario import load_scenario, resolve_scenario_path

    if args.seeds < 1:
        raise DrillsimError(f"--seeds takes a whole number >= 1, got {args.seeds}")
    if args.workers is not None and args.workers < 1:
        raise DrillsimError(f"--workers takes a whole number >= 1, got {args.workers}")
    path = resolve_scenario_path(args.scenario)
    out = Path(args.out) if args.out else \
        Path("runs") / (f"{load_scenario(path).name}-"
                        f"{'comparison' if args.command == 'compare' else 'criticality'}")
    output_folder(out, "--out" if args.out else "the output folder")
    if args.command == "compare":
        variants = [v.strip() for v in args.variants.split(",")] if args.variants else None
        result = compare(path, variants, args.seeds, args.workers, out)
    else:
        result = criticality(path, args.seeds, args.workers, out, args.doors, args.variant)
    print()
    for text in result["headlines"].values():
        print(text)
        print()
    if result["ranking"]:
        print("Ranking (extra time until everyone is out: 95th percentile, or as said):")
        for r in result["ranking"]:
            print(f"  {r['label']:<30} {ranking_line(r)}")
        if args.command == "criticality" and args.doors and \
                not any(r["label"].startswith("without door ") for r in result["ranking"]):
            print("  (--doors: the building has no named door that is not locked already; "
                  "only exits were locked)")
    print(f"Report: {out / 'report.html'}   data: {out / 'comparison.json'}")
    return 0


def cmd_bench(args) -> int:
    import numba

    from .bench import bench, check_arguments
    from .scenario import load_scenario, resolve_scenario_path

    check_arguments(args.seeds, args.threads)  # (before the scenario loads)
    sc = load_scenario(resolve_scenario_path(args.scenario), args.variant)
    columns = (f"{'seed':>8} {'wall s':>8} {'simulated s':>12} {'sim s / wall s':>15} "
               f"{'occupant-updates/s':>19}  fingerprint")

    def row(label, r) -> str:
        return (f"{label:>8} {r['wall_s']:>8.2f} {r['simulated_s']:>12,.1f} "
                f"{r['simulated_per_wall']:>15,.1f} {r['occupant_updates_per_s']:>19,.0f}  "
                f"{r['fingerprint']}")

    def on_run(kind, r) -> None:
        print(row("warm-up" if kind == "warmup" else str(r["seed"]), r))

    threads = args.threads if args.threads is not None else numba.get_num_threads()
    print(f"{sc.name} [{sc.variant}]: {sc.occupants:,} occupants, {sc.building.n_cells:,} cells; "
          f"{threads} thread{'s' if threads != 1 else ''}")
    print(columns)
    result = bench(sc, args.seeds, warmup=not args.no_warmup, threads=args.threads,
                   json_path=args.json, on_run=on_run)
    s = result["summary"]
    print(f"median of {s['runs']}: {s['wall_s_median']:.2f} s a run "
          f"({s['wall_s_min']:.2f}-{s['wall_s_max']:.2f}), "
          f"{s['simulated_per_wall_median']:,.1f} simulated s per wall s, "
          f"{s['occupant_updates_per_s_median']:,.0f} occupant-updates/s")
    if result["warmup"] is not None:
        print("(warm-up: untimed; it loads the kernels from the cache, or compiles them "
              "after install)")
    if result["reproducible"] is not None:
        seed = result["warmup"]["seed"]
        print(f"seed {seed} run twice: " + ("the same result, bit for bit"
                                           if result["reproducible"] else
                                           "DIFFERENT results (please report this)"))
    print(f"on {result['machine']}")
    if args.json:
        print(f"written: {args.json}")
    return 0 if result["reproducible"] in (None, True) else 1


def cmd_verify(args) -> int:
    from .verification.report import verify

    path, outcomes = verify(output_folder(args.out, "--out"), include_slow=not args.fast)
    failing = [o.id for o in outcomes if o.status == "fail"]
    print(f"written: {path}")
    if failing:
        print("failing (reported as such): " + ", ".join(failing))
    return 0


def cmd_animate(args) -> int:
    from .animate import animate

    if len(args.runs) > 2:
        raise DrillsimError(f"animate takes one or two runs, got {len(args.runs)}")
    if args.fps < 1 or (args.every is not None and args.every < 1):
        raise DrillsimError("--fps and --every take whole numbers >= 1")
    output_file(args.out, "--out")
    path = animate(args.runs, args.out, args.fps, args.every, floor=args.floor,
                   whole=args.whole, say=print)
    print(f"written: {path}")
    return 0


def cmd_export(args) -> int:
    from .export import export_csv, export_pedpy

    if args.format == "csv":
        output_folder(args.out, "--out")
        paths = export_csv(args.run, args.out)
    else:
        output_file(args.out, "--out")
        paths = [export_pedpy(args.run, args.out)]
    print("written: " + ", ".join(str(p) for p in paths))
    return 0


def cmd_replay(args) -> int:
    if len(args.runs) > 2:
        raise DrillsimError(f"replay takes one or two runs, got {len(args.runs)}")
    if args.every < 1:
        raise DrillsimError(f"--every takes a whole number >= 1, got {args.every}")
    if args.frames is not None:
        output_folder(args.frames, "--frames")
    from trainer.app import main as replay_main

    return replay_main(args.runs, args.frames, args.every, args.floor)


def cmd_demo(args) -> int:
    from .run import format_summary, run_scenario, warm_up
    from .scenario import load_scenario, resolve_scenario_path

    path = resolve_scenario_path(DEMO_SCENARIO)
    output_folder(args.out, "--out")
    scenarios = [load_scenario(path, variant, args.seed) for variant in DEMO_VARIANTS]
    # A few untimed steps of each variant first: the kernels are loaded (or, on the first run
    # after install, compiled) here, so that the wall times printed for the two runs below
    # are the runs' own, comparable side by side.
    print("loading the simulation kernels (compiled on the first run after install, "
          "about 20 s) ...", flush=True)
    warm_up(scenarios)
    summaries = []
    for variant, sc in zip(DEMO_VARIANTS, scenarios):
        print(f"running {sc.name} [{variant}] ...", flush=True)
        summaries.append(run_scenario(sc, out_dir=Path(args.out) / variant))
    print()
    print(side_by_side([format_summary(s) for s in summaries]))
    print()
    print(compare_in_words(*summaries))
    print(f"\nOutputs (summary.json, record.npz) are in {args.out}/.")
    runs = [str(Path(args.out) / v) for v in DEMO_VARIANTS]

    from .compare import compare

    print(f"\nNursing home at night, rear exit open or locked, over {DEMO_SEEDS} seeds ...")
    nh_out = Path(args.out) / "nursing_home_comparison"
    result = compare(resolve_scenario_path("nursing_home"), ["rear_open", "rear_locked"],
                     DEMO_SEEDS, None, nh_out)
    for text in result["headlines"].values():
        print(text)
    print(f"Report to open or send on: {nh_out / 'report.html'}")
    from trainer.app import has_display

    if not args.no_replay and has_display():
        print("Opening the side-by-side replay (H for help, Esc to close) ...")
        from trainer.app import main as replay_main

        return replay_main(runs)
    print("To watch both runs side by side: drillsim replay " + " ".join(runs))
    print("(without a screen: drillsim replay " + " ".join(runs) + " --frames frames/ --every 10)")
    return 0


def side_by_side(blocks: list[str], gap: int = 4) -> str:
    split = [b.splitlines() for b in blocks]
    width = max(len(line) for lines in split[:-1] for line in lines) + gap
    rows = max(len(lines) for lines in split)
    out = []
    for r in range(rows):
        parts = [(lines[r] if r < len(lines) else "") for lines in split]
        out.append("".join(p.ljust(width) for p in parts[:-1]) + parts[-1])
    return "\n".join(out)


def compare_in_words(base: dict, other: dict) -> str:
    """The difference between two runs in plain words."""
    from .run import format_duration, seconds_apart

    locked = [n for n, e in other["exits"].items() if e["locked_at_start"]]
    what = (f"With {', '.join(locked)} locked" if locked else f"In variant {other['variant']}")
    t0, t1 = base["evacuation_time_s"], other["evacuation_time_s"]
    if t0 is None or t1 is None:
        missing = other["inside"] + other["casualties"]
        return (f"{what}, {missing:,} of {other['occupants']:,} people were not out by the end "
                f"of the simulation ({format_duration(other['simulated_s'])}).")
    diff = seconds_apart(t1, t0)
    words = (f"{what}, the last person is out after {format_duration(t1)} instead of "
             f"{format_duration(t0)}: {format_duration(abs(diff))} "
             f"{'later' if diff >= 0 else 'earlier'} ({t1 / t0:.2f} times as long).")
    if other["locked_exit_discoveries"]:
        lost = other["time_lost_to_locked_exits_s"]
        found, told = other["locked_exit_discoveries"], other["told_of_locked_exits"]
        words += (f" {found:,} {'person' if found == 1 else 'people'} walked up to a locked "
                  f"exit before turning back and {told:,} more "
                  f"{'was' if told == 1 else 'were'} told by others; {lost['occupants']:,} lost "
                  f"{lost['mean']:.0f} s {'each on average ' if lost['occupants'] != 1 else ''}"
                  "heading for it.")
    return words + " (One seed; the model is random — compare many seeds before drawing " \
                   "conclusions.)"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
