"""The import graph of bot/ (SPEC §5): arrows point down only, and nothing goes round.

Every module under bot/ is parsed with `ast` (nothing is imported), and each
`import bot...` / `from bot... import ...` becomes an edge to the module it names.

Layer rules (an edge from a module in the left room to one in a room on the right fails):

- blocks    -> store, jobs, commands, services, delivery: blocks render domain entities
               and views from bot/licensing (entities.py, views.py) and nothing else of the
               project's rooms (bot.blocks, bot.licensing and bot.clock only).
- commands  -> store, jobs: listeners call services (writes and the read side in
               bot/services/queries.py) and render with blocks.
- licensing -> anything outside bot/licensing: the domain imports nothing of the project.
- services  -> commands, blocks, jobs, reports: use cases and reads return values; the
               rooms above them (listeners, jobs, reports) build views and files.
- store     -> services, commands, blocks: the store maps rows to domain entities.

Cycles: no cycle among bot modules, counting module-level imports and imports inside
functions alike. The one tolerated exception is lazy loading in the console script: an
import inside a function of a CLI module (bot/cli.py, bot/cli/*, bot/<room>/cli.py) loads
a subcommand's room only when that subcommand runs, and is left out of the cycle check
(it still has to obey the layer rules). Imports under `if TYPE_CHECKING:` obey the layer
rules but do not count for cycles (they never run).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

BOT = Path(__file__).resolve().parent.parent / "bot"

FORBIDDEN: dict[str, set[str]] = {
    "blocks": {"store", "jobs", "commands", "services", "delivery"},
    "commands": {"store", "jobs"},
    "services": {"commands", "blocks", "jobs", "reports"},
    "store": {"services", "commands", "blocks"},
}
BLOCKS_MAY_IMPORT = {"blocks", "licensing", "clock"}


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    line: int
    lazy: bool  # inside a function
    typing_only: bool  # under `if TYPE_CHECKING:`

    def __str__(self) -> str:
        where = " (in a function)" if self.lazy else ""
        return f"{self.source} -> {self.target} (line {self.line}){where}"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(BOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(BOT.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(
    node: ast.AST, lazy: bool = False, typing_only: bool = False
) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool, bool]]:
    """Every import statement under node: (statement, inside a function, typing only)."""
    for child in ast.iter_child_nodes(node):
        child_lazy = lazy or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
        child_typing = typing_only or (isinstance(child, ast.If) and _is_type_checking(child))
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child, child_lazy, child_typing
        yield from _imports(child, child_lazy, child_typing)


def edges(found: dict[str, Path]) -> list[Edge]:
    def resolve(name: str) -> str:
        while name and name not in found:
            name = name.rpartition(".")[0]
        return name

    result: list[Edge] = []
    for name, path in found.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        tree = ast.parse(path.read_text(), str(path))
        for statement, lazy, typing_only in _imports(tree):
            if isinstance(statement, ast.Import):
                targets = [a.name for a in statement.names]
            else:
                base = statement.module or ""
                if statement.level:
                    parts = package.split(".")
                    up = parts[: len(parts) - statement.level + 1]
                    base = ".".join(up + ([base] if base else []))
                # `from bot.store import unit` names the module bot.store.unit
                targets = [
                    f"{base}.{a.name}" if f"{base}.{a.name}" in found else base
                    for a in statement.names
                ]
            for target in targets:
                if target != "bot" and not target.startswith("bot."):
                    continue
                resolved = resolve(target)
                if resolved and resolved != name:
                    result.append(Edge(name, resolved, statement.lineno, lazy, typing_only))
    return result


def room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def is_cli(module: str) -> bool:
    parts = module.split(".")
    return parts[-1] == "cli" or (len(parts) > 1 and parts[1] == "cli")


def forbidden(all_edges: list[Edge]) -> list[Edge]:
    bad = []
    for edge in all_edges:
        source, target = room(edge.source), room(edge.target)
        if source == "licensing" and target != "licensing":
            bad.append(edge)
        elif source == "blocks" and target not in BLOCKS_MAY_IMPORT:
            bad.append(edge)
        elif target in FORBIDDEN.get(source, set()):
            bad.append(edge)
    return bad


def cycles(all_edges: list[Edge]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    graph: dict[str, set[str]] = {}
    for edge in all_edges:
        if edge.typing_only or (edge.lazy and is_cli(edge.source)):
            continue
        graph.setdefault(edge.source, set()).add(edge.target)
        graph.setdefault(edge.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return found


@pytest.fixture(scope="module")
def graph() -> list[Edge]:
    return edges(modules())


def test_the_graph_is_read(graph: list[Edge]) -> None:
    pairs = {(e.source, e.target) for e in graph}
    assert ("bot.commands.insight", "bot.services.insight") in pairs
    assert ("bot.store.assignments", "bot.licensing.entities") in pairs
    assert len(modules()) > 50


def test_no_forbidden_edge(graph: list[Edge]) -> None:
    bad = forbidden(graph)
    assert not bad, "imports against SPEC §5:\n" + "\n".join(map(str, bad))


def test_no_import_cycle(graph: list[Edge]) -> None:
    found = cycles(graph)
    assert not found, "import cycles in bot/:\n" + "\n".join(" <-> ".join(c) for c in found)


def test_the_rules_catch_what_they_forbid() -> None:
    """The checks themselves: a made-up graph with one of each offence."""
    made_up = [
        Edge("bot.blocks.home", "bot.store.assignments", 1, False, False),
        Edge("bot.blocks.home", "bot.services.ledger", 2, False, False),
        Edge("bot.commands.admin", "bot.jobs.genesys", 3, False, False),
        Edge("bot.licensing.policy", "bot.clock", 4, False, False),
        Edge("bot.store.pools", "bot.services.ledger", 5, False, False),
        Edge("bot.services.seats", "bot.blocks.admin", 6, False, False),
        Edge("bot.blocks.home", "bot.licensing.entities", 7, False, False),
        Edge("bot.commands.admin", "bot.services.queries", 8, False, False),
    ]
    assert [e.line for e in forbidden(made_up)] == [1, 2, 3, 4, 5, 6]
    ring = [
        Edge("bot.services.a", "bot.services.b", 1, False, False),
        Edge("bot.services.b", "bot.services.a", 2, True, False),
    ]
    assert cycles(ring) == [["bot.services.a", "bot.services.b"]]
    lazy_cli = [
        Edge("bot.cli", "bot.serve", 1, True, False),
        Edge("bot.serve", "bot.cli", 2, False, False),
    ]
    assert cycles(lazy_cli) == []


def test_listeners_use_the_read_side() -> None:
    """Listeners (bot/commands) call services, never a transaction or a Database: no
    `<x>.db.read()` / `<x>.db.write()`, no `Database`."""
    found = []
    for path in sorted((BOT / "commands").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Attribute)
                and node.attr in ("read", "write", "transaction")
                and isinstance(node.value, ast.Attribute)
                and node.value.attr == "db"
            ) or (isinstance(node, ast.Name) and node.id == "Database"):
                found.append(f"{path.name}:{node.lineno}")
    assert not found, "listeners reading the store directly: " + ", ".join(found)


def domain_names() -> dict[str, str]:
    """Every top-level name bot/licensing defines (entities, views, policy values...), and
    the module that defines it."""
    found: dict[str, str] = {}
    for path in sorted((BOT / "licensing").rglob("*.py")):
        for node in ast.parse(path.read_text(), str(path)).body:
            names: list[str] = []
            if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                names = [node.name]
            elif isinstance(node, ast.Assign):
                names = [t.id for t in node.targets if isinstance(t, ast.Name)]
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                names = [node.target.id]
            for name in names:
                found.setdefault(name, module_name(path))
    return found


def entities_through_the_store(source: str, domain: dict[str, str], where: str) -> list[str]:
    """`from bot.store... import X` where X is a domain name: the entity travels through
    the store instead of coming from bot/licensing, where it lives."""
    bad = []
    for node in ast.walk(ast.parse(source, where)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("bot.store"):
            for alias in node.names:
                if alias.name in domain:
                    bad.append(
                        f"{where}:{node.lineno}: {alias.name} from {node.module} "
                        f"(import it from {domain[alias.name]})"
                    )
    return bad


def test_entities_are_imported_from_the_domain_not_the_store() -> None:
    """Outside bot/store, domain entities and views come from bot/licensing: the store maps
    rows to them, it does not hand them on (no re-exports under the store's names)."""
    domain = domain_names()
    assert {"Assignment", "AuditEntry", "OpenAlert", "Alert", "Quota", "Impact"} <= set(domain)
    root = BOT.parent
    bad = []
    for folder in ("bot", "tests", "bench"):
        for path in sorted((root / folder).rglob("*.py")):
            if path.is_relative_to(BOT / "store"):
                continue
            bad += entities_through_the_store(path.read_text(), domain, str(path.relative_to(root)))
    assert not bad, "domain names imported from the store:\n" + "\n".join(bad)


def test_the_entity_rule_catches_a_store_import() -> None:
    domain = domain_names()
    made_up = (
        "from bot.store.assignments import Assignment, AssignmentRepository\n"
        "def f():\n    from bot.store.reports import AuditFilter\n"
        "from bot.store.db import Database\n"
        "from bot.licensing.entities import Alert\n"
    )
    found = entities_through_the_store(made_up, domain, "x.py")
    assert [line.split(": ", 1)[1].split(" (")[0] for line in found] == [
        "Assignment from bot.store.assignments",
        "AuditFilter from bot.store.reports",
    ]


def test_listeners_do_not_publish_homes_for_each_other(graph: list[Edge]) -> None:
    """After a decision the App Home is refreshed by the outbox (a `home` message queued
    with it, bot/delivery/home.py): no listener module calls into bot.commands.home."""
    into_home = [
        str(e)
        for e in graph
        if e.target == "bot.commands.home" and e.source.startswith("bot.commands.")
    ]
    assert into_home == []
