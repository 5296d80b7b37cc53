"""The shape of the package, read from its source: no import cycle, each layer imports only what is below it,
and a session stays small. (The README's "Where things live" and docs/architecture.md describe the layers.)"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "jupyter_openeo_auth"


def import_graph() -> dict[str, set[str]]:
    """Module name -> the package's modules it imports (at the top or inside functions)."""
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        if "labextension" in path.parts or "oidc_provider" in path.parts:
            continue
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        modules[name.removesuffix(".__init__")] = path
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        here = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text())):
            targets = []
            if isinstance(node, ast.ImportFrom):
                base = here.split(".")[: len(here.split(".")) - (node.level - 1)] if node.level else []
                module = ".".join(base + ([node.module] if node.module else []))
                targets = [module] + [f"{module}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            graph[name] |= {t for t in targets if t in modules and t != name}
    return graph


def test_no_import_cycle_in_the_package():
    graph = import_graph()

    def cycle_from(start: str, node: str, seen: list[str]) -> list[str] | None:
        for nxt in sorted(graph[node]):
            if nxt == start:
                return [*seen, nxt]
            if nxt not in seen:
                found = cycle_from(start, nxt, [*seen, nxt])
                if found:
                    return found
        return None

    cycles = [c for c in (cycle_from(m, m, [m]) for m in sorted(graph)) if c]
    assert not cycles, " -> ".join(cycles[0])


def test_the_kernel_side_imports_nothing_of_the_oidc_core_the_broker_or_the_server():
    """Kernels talk to the server over REST; they share only the wire's names, the errors and URL spelling."""
    graph = import_graph()
    below = ("jupyter_openeo_auth.oidc", "jupyter_openeo_auth.broker", "jupyter_openeo_auth.server")
    crossing = {
        (module, target)
        for module, targets in graph.items()
        if module.startswith("jupyter_openeo_auth.kernel")
        for target in targets
        if target.startswith(below) or target == "jupyter_openeo_auth.hub"
    }
    assert not crossing, sorted(crossing)
    assert graph["jupyter_openeo_auth.kernel.client"] >= {"jupyter_openeo_auth.errors", "jupyter_openeo_auth.urls"}


def test_a_session_holds_tokens_and_hands_its_timing_to_renewals():
    """`Session` stays under 15 methods: its timers live in `Renewals`, its description in `describe`."""
    tree = ast.parse((PACKAGE / "broker" / "sessions.py").read_text())
    [session] = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Session"]
    methods = [n.name for n in session.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    assert len(methods) < 15, methods


def test_no_flow_check_outside_the_flows_module():
    """A flow's behaviour is its rules in `flows.py`: nowhere else compares a flow with `Flow.X` or its name."""
    from jupyter_openeo_auth.wire import Flow

    names = {flow.value for flow in Flow}

    def names_a_flow(node: ast.expr) -> bool:
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "Flow":
            return True
        if isinstance(node, ast.Constant) and node.value in names:
            return True
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            return any(names_a_flow(e) for e in node.elts if not isinstance(e, ast.Starred))
        return False

    checks = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "flows.py" or "devstack" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Compare) and any(names_a_flow(n) for n in [node.left, *node.comparators]):
                checks.append(f"{path.relative_to(ROOT)}:{node.lineno}")
            if isinstance(node, ast.Match):
                checks.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not checks, checks


def test_no_room_of_the_broker_is_handed_a_callable_that_leads_back_up():
    """Rooms get the rooms below them (`NewSessions`, `SessionTable`, the `Bus`) and publish events; none is
    handed one of the broker's methods. A session's `renew` is the grant it renews with (down, to the provider)."""
    handed = []
    for path in (PACKAGE / "broker").glob("*.py"):
        if path.name == "token_broker.py":  # the broker's own listener, `on_event`, is where events leave
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and node.name == "__init__":
                for arg in node.args.args + node.args.kwonlyargs:
                    text = ast.unparse(arg.annotation) if arg.annotation else ""
                    if ("Callable" in text or text in ("MakeSession", "Notify")) and arg.arg != "renew":
                        handed.append(f"{path.name}: {arg.arg}: {text}")
    assert not handed, handed
