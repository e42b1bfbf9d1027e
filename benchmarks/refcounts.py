"""List calls to Numba's runtime inside the kernels' loops: ``python benchmarks/refcounts.py``.

Numba counts the references to an array bound to a function's argument. Where the function
branches or loops, the counting is not pruned, and when such a helper is called in a loop,
every call makes an atomic increment and decrement of the array's count (``lock inc`` and
``lock dec`` on x86): each waits for every memory access in flight, and threads contend for
the count. Nothing in the results shows it, only the time (see ``sim/kernels/jit.py``).

This compiles the kernels afresh (Numba shows no machine code for cached kernels) on a small
venue and three buildings of the library, as written and with an exit locked (a drill and
smoke among them), then reads each kernel's machine code: its control-flow graph, and the
calls to Numba's runtime (``NRT_incref``, ``NRT_decref``, allocations) from blocks that lie
on a cycle. It lists them and exits with 1 if there are any. The parallel kernels' loop
bodies are compiled apart and not shown; each is the same code as its serial twin, which is.
Kernels it did not compile are named as not checked. A kernel listed in ``EXPECTED`` has such
calls by design, in a loop of few and long iterations; it is shown with the reason and not
counted.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from pathlib import Path

import networkx as nx

LABEL = re.compile(r"^(\.LBB\d+_\d+|[A-Za-z_][\w.$]*):")
JUMP = re.compile(r"\s+(j\w+)\s+(\.LBB\d+_\d+)")
TABLE_ENTRY = re.compile(r"\.(?:quad|long)\s+(\.LBB\d+_\d+)")
LOAD_SYMBOL = re.compile(r"\s+movabsq?\s+\$(NRT_\w+), (%\w+)")
CALL_REGISTER = re.compile(r"\s+callq?\s+\*(%\w+)")

# Kernels whose loops call the runtime on purpose: why that costs nothing that matters.
EXPECTED = {
    "sim.kernels.fields._march_each_serial":
        "a loop over fields, each iteration a whole fast march (0.2 ms or more in the "
        "library's buildings); the counting is for the field's row views, nanoseconds a field",
    "sim.kernels.movement._downhill":
        "a loop over rows and directions, each iteration a pass over every cell of the grid "
        "(thousands); the counting is for that pass's shifted views, nanoseconds a pass",
}


def calls_in_loops(asm: str) -> list[tuple[str, str]]:
    """(block, NRT function) for each call to Numba's runtime from a block on a cycle of the
    control-flow graph of ``asm`` (x86-64 assembly as Numba prints it)."""
    # Basic blocks: from a label, or from the instruction after a jump, to the next jump.
    blocks: list[tuple[str, list[str]]] = [("entry", [])]
    for line in asm.splitlines():
        m = LABEL.match(line)
        if m:
            blocks.append((m.group(1), []))
            continue
        blocks[-1][1].append(line)
        if re.match(r"\s+j\w+\s", line):
            blocks.append((f"{blocks[-1][0]}'", []))
    table = TABLE_ENTRY.findall(asm)  # (an indirect jump may go to any entry of a table)
    graph = nx.DiGraph()
    for k, (label, body) in enumerate(blocks):
        graph.add_node(label)
        falls_through = True
        for line in body:
            m = JUMP.match(line)
            if m:
                graph.add_edge(label, m.group(2))
                falls_through = m.group(1) != "jmp"
            elif re.match(r"\s+jmpq\s+\*", line):
                graph.add_edges_from((label, t) for t in table)
                falls_through = False
            elif re.match(r"\s+retq", line):
                falls_through = False
        if falls_through and k + 1 < len(blocks):
            graph.add_edge(label, blocks[k + 1][0])
    on_cycle = set()
    for part in nx.strongly_connected_components(graph):
        if len(part) > 1 or any(graph.has_edge(x, x) for x in part):
            on_cycle |= part
    found = []
    for label, body in blocks:
        if label not in on_cycle:
            continue
        loaded: dict[str, str] = {}
        for line in body:
            m = LOAD_SYMBOL.match(line)
            if m:
                loaded[m.group(2)] = m.group(1)
            m = CALL_REGISTER.match(line)
            if m and m.group(1) in loaded:
                found.append((label, loaded[m.group(1)]))
    return found


def compile_kernels() -> None:
    """Run what makes the serial kernels compile with the types the engine gives them."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from venues import venue_scenario

    import numpy as np

    from sim.kernels.streams import fill_uniform
    from sim.model import EvacuationModel
    from sim.scenario import list_variants, load_scenario, resolve_scenario_path

    runs = [(venue_scenario(80, 1_000), 30)]
    # Locked exits (discovery), a drill, smoke; and the same buildings as written.
    for name, variant in (("hall", "two_locked"), ("office", "east_exit_locked_key_away"),
                          ("nursing_home", "rear_locked")):
        path = resolve_scenario_path(name)
        if variant not in list_variants(path):
            raise SystemExit(f"{name} has no variant {variant!r} any more: pick another")
        runs += [(load_scenario(path, variant), 150), (load_scenario(path), 150)]
    for scenario, steps in runs:
        model = EvacuationModel(scenario, 1, make_handles=False)
        for _ in range(steps):
            if not model.running:
                break
            model.step()
    model.census()  # (the engine's own steps count with the census kernel of the step)
    fill_uniform(np.uint64(1), np.zeros((3, 10), dtype=np.float32))  # (tests and tools)


def main() -> int:
    import numba

    import sim.kernels.choice
    import sim.kernels.fields
    import sim.kernels.half
    import sim.kernels.movement
    import sim.kernels.regions
    import sim.kernels.smoke
    import sim.kernels.streams

    numba.set_num_threads(1)
    compile_kernels()
    bad = 0
    seen = 0  # runtime calls anywhere: none would mean the machine code was not understood
    for module in (sim.kernels.movement, sim.kernels.choice, sim.kernels.fields,
                   sim.kernels.smoke, sim.kernels.streams, sim.kernels.half,
                   sim.kernels.regions):
        for name in sorted(vars(module)):
            dispatcher = getattr(module, name)
            if not isinstance(dispatcher, numba.core.registry.CPUDispatcher) or \
                    getattr(dispatcher, "__module__", None) != module.__name__:
                continue
            if not dispatcher.signatures:  # (parallel twins; helpers inlined by Numba)
                print(f"{module.__name__}.{name}: not compiled here, not checked")
                continue
            asm = dispatcher.inspect_asm(dispatcher.signatures[0])
            seen += len(LOAD_SYMBOL.findall(asm))
            found = sorted({f for _, f in calls_in_loops(asm)})
            why = EXPECTED.get(f"{module.__name__}.{name}")
            if found and why:
                print(f"{module.__name__}.{name}: in a loop, as expected ({why}): "
                      f"{', '.join(found)}")
                continue
            bad += bool(found)
            print(f"{module.__name__}.{name}: "
                  f"{'IN A LOOP: ' + ', '.join(found) if found else 'clean'}")
    if not seen:
        print("no call to Numba's runtime recognised at all: this script does not understand "
              "this machine code (x86-64 as LLVM prints it)")
        return 2
    print(f"{bad} kernel(s) call Numba's runtime in a loop")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    with tempfile.TemporaryDirectory(prefix="drillsim-refcounts-") as cache:
        # Before Numba is imported: machine code is shown only for kernels compiled here.
        os.environ["NUMBA_CACHE_DIR"] = cache
        status = main()
    sys.exit(status)
