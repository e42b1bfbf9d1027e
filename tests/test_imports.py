"""The layering rules of STYLE.md, checked by scanning imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the package
                package = path.parent.relative_to(ROOT).parts[:len(path.parent.relative_to(ROOT).parts) - node.level + 1]
                found.add(".".join(package + ((node.module,) if node.module else ())))
            else:
                found.add(node.module)
    return found


def roots(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


@pytest.mark.parametrize("path", sorted((ROOT / "sim" / "kernels").glob("*.py")),
                         ids=lambda p: p.name)
def test_kernels_import_only_numpy_numba_math(path):
    mods = imported_modules(path)
    outside = {m for m in mods if not m.startswith("sim.kernels")}
    assert roots(outside) <= {"numpy", "numba", "math", "__future__"}, outside


LOADERS = ["building.py", "scenario.py", "validation.py", "profiles.py", "errors.py",
           "graph.py", "drill.py", "hazard.py", "variantdiff.py"]


@pytest.mark.parametrize("name", LOADERS)
def test_loaders_import_no_mesa_numba_or_pygame(name):
    mods = imported_modules(ROOT / "sim" / name)
    assert not roots(mods) & {"mesa", "numba", "pygame"}, mods
    # ... not even through another module of the package: loaders import only loaders.
    inside = {m.split(".")[1] + ".py" for m in mods if m.startswith("sim.")}
    assert inside <= set(LOADERS), inside - set(LOADERS)


def test_trainer_imports_nothing_from_sim():
    for path in (ROOT / "trainer").rglob("*.py"):
        assert "sim" not in roots(imported_modules(path)), path


def test_only_the_trainer_imports_pygame():
    for path in (ROOT / "sim").rglob("*.py"):
        assert "pygame" not in roots(imported_modules(path)), path


def test_the_command_line_runs_without_importing_mesa():
    """``drillsim run``, ``compare``, ``bench`` and ``verify`` use the engine; importing Mesa
    (SciPy, pandas, networkx) would take about a second of every start."""
    import subprocess
    import sys

    code = ("import sys; import sim.cli, sim.run, sim.batch, sim.compare, sim.engine, "
            "sim.verification.cases; from sim.cli import main; "
            "main(['run', 'hall', '--variant', 'all_open', '--no-record', '--json', "
            "'--out', sys.argv[1]]); "
            "print('MESA' if 'mesa' in sys.modules else 'NO-MESA')")
    import tempfile
    with tempfile.TemporaryDirectory() as out:
        done = subprocess.run([sys.executable, "-c", code, out], capture_output=True, text=True,
                              cwd=ROOT, check=True)
    assert done.stdout.strip().endswith("NO-MESA"), done.stdout[-200:] + done.stderr[-500:]
