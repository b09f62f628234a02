"""The engine's layers: imports point down only, and no module imports itself back through others.

Each package of ``engine/`` sits on a floor; a module may import its own package or a lower floor,
never a higher one or a sibling on its floor. ``tui`` is above the whole engine, which never imports it.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Bottom first. Packages on one floor know nothing of each other.
FLOORS: list[tuple[str, ...]] = [
    ("base",),  # errors, units, locations, atomic writes, locks, versions, conversion choices: nothing about models
    ("process",),  # running worker processes and talking to them
    ("environment",),  # this machine and its toolchain
    ("model",),  # the source model: what it is, whether the toolchain builds it
    ("onnx", "recipes"),  # a converted model folder; the recipes that make one
    ("profiles",),  # profiles and what a new one starts from
    ("convert", "foundry"),  # conversion; deployment to Foundry Local
    ("backends",),  # inference behind one interface
    ("conversation", "bench"),
    ("endpoint", "tune"),
    ("pipeline",),
    ("workers", "cli"),  # process entry points and the command line
]
FLOOR = {package: level for level, packages in enumerate(FLOORS) for package in packages}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every project module ``path`` imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                found.add(candidate if _is_module(candidate) else node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.split(".")[0] in ("engine", "tui")}


def _is_module(name: str) -> bool:
    base = ROOT.joinpath(*name.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def graph() -> dict[str, set[str]]:
    return {module_name(p): imports(p) for package in ("engine", "tui") for p in (ROOT / package).rglob("*.py")}


def floor_of(module: str) -> int | None:
    parts = module.split(".")
    if parts[0] == "tui":
        return len(FLOORS)
    return FLOOR.get(parts[1]) if len(parts) > 1 else None


def upward(edges: dict[str, set[str]]) -> list[str]:
    """Imports of a higher floor, or of another package on the same floor."""
    bad = []
    for module, targets in edges.items():
        for target in targets:
            a, b = floor_of(module), floor_of(target)
            same_package = module.split(".")[:2] == target.split(".")[:2]
            if a is not None and b is not None and not same_package and b >= a and not (a == b == len(FLOORS)):
                bad.append(f"{module} -> {target}")
    return sorted(bad)


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The import circles (strongly connected components of more than one module), by Tarjan's algorithm."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in edges.get(node, ()):
            if target not in edges:
                continue
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_every_engine_package_has_a_floor():
    packages = {p.name for p in (ROOT / "engine").iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    modules = {p.stem for p in (ROOT / "engine").glob("*.py") if p.stem != "__init__"}
    assert packages | modules == set(FLOOR), "give each engine package a floor in FLOORS"


def test_imports_point_down_only():
    assert upward(graph()) == []


def test_the_engine_never_imports_the_ui():
    assert [f"{m} -> {t}" for m, ts in graph().items() if m.startswith("engine") for t in ts if t.startswith("tui")] == []


def test_no_import_circles():
    assert cycles(graph()) == []


def test_the_checks_fail_on_an_upward_import_and_a_circle():
    edges = {"engine.base.errors": {"engine.model.inspection"}, "engine.model.inspection": {"engine.base.errors"}}
    assert upward(edges) == ["engine.base.errors -> engine.model.inspection"]
    assert cycles(edges) == [["engine.base.errors", "engine.model.inspection"]]
    assert upward({"engine.onnx.provenance": {"engine.recipes.catalog"}}) == ["engine.onnx.provenance -> engine.recipes.catalog"]


# The app-worker boundary: what only worker processes load, and the modules they run. The gguf package (a
# reader over numpy, a quarter of a second to import) is light: the app asks it which block types it dequantizes.
ML_STACK = {
    "torch",
    "transformers",
    "olive",
    "onnxruntime",
    "onnxruntime_genai",
    "onnx",
    "onnx_ir",
    "onnxscript",
    "safetensors",
    "foundry_local_sdk",  # loads onnxruntime
}


def outside_imports(path: Path) -> set[str]:
    """The top-level packages of everything ``path`` imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
    return found


def app_side() -> list[Path]:
    return [
        p for package in ("engine", "tui") for p in (ROOT / package).rglob("*.py") if "workers" != p.relative_to(ROOT).parts[1]
    ]


def test_only_workers_import_the_ml_stack_or_the_foundry_sdk():
    bad = [f"{module_name(p)} -> {sorted(outside_imports(p) & ML_STACK)}" for p in app_side() if outside_imports(p) & ML_STACK]
    assert bad == [], "move the code that needs these into engine/workers/"


def runs_main(path: Path) -> bool:
    """Whether the module defines ``main(spec)`` and, run as a program, hands it to ``run_worker``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    has_main = any(isinstance(node, ast.FunctionDef) and node.name == "main" for node in tree.body)
    runs = any(
        isinstance(node, ast.If) and "__main__" in ast.unparse(node.test) and "run_worker(main)" in ast.unparse(node)
        for node in tree.body
    )
    return has_main and runs


def test_every_job_module_resolves_to_a_worker_that_runs_main():
    from engine.process.workers import WORKERS

    for module in WORKERS:
        path = ROOT.joinpath(*module.split(".")).with_suffix(".py")
        assert path.is_file(), f"{module} names no module"
        assert runs_main(path), f"{module} should define main(spec) and end with run_worker(main)"
    entries = {module_name(p) for p in (ROOT / "engine" / "workers").glob("*.py") if runs_main(p)}
    assert entries == set(WORKERS), "name every worker in engine.process.workers"


def test_the_app_names_workers_only_through_the_registry():
    """A worker's module name typed as a string elsewhere would escape the test above."""
    found = []
    for path in app_side():
        if module_name(path) == "engine.process.workers":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant)}
        found += [
            f"{module_name(path)}: {node.value}"
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and node.value.startswith("engine.workers.")
            and id(node) not in docstrings
        ]
    assert found == []
