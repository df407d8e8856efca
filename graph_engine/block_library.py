"""Block libraries are graph files: take block definitions from one graph into another.

:func:`import_definitions` copies the named definitions with the blocks they use. A name
the target already holds with the same content is reused; with other content, the copy
gets a fresh name (``Basic_2``) and the copies that use it are rewritten to say so —
never a silent replacement of the target's own definition.

:func:`read_library` reads a folder of graph files (the palette's block libraries): each
file that holds block definitions is one library; an unreadable file is a one-line note.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable

from graph_engine.blocks import BlockDefinition, BlockError, check_definitions
from graph_engine.model import Graph
from graph_engine.source_text import fresh_name


def with_dependencies(graph: Graph, names: Iterable[str]) -> list[str]:
    """``names`` and every block they use, at any depth, used before users."""
    order = check_definitions(graph.blocks)
    wanted: set[str] = set()
    stack = list(names)
    while stack:
        name = stack.pop()
        if name in wanted:
            continue
        if name not in graph.blocks:
            raise BlockError(f"there is no block {name!r} to import")
        wanted.add(name)
        stack += [n.type for n in graph.blocks[name].graph if n.type in graph.blocks]
    return [name for name in order if name in wanted]


def _same(a: BlockDefinition, b: BlockDefinition) -> bool:
    from graph_engine.serialization import block_to_dict

    return block_to_dict(a) == block_to_dict(b)


def import_definitions(target: Graph, source: Graph, names: Iterable[str]
                       ) -> tuple[list[BlockDefinition], dict[str, str]]:
    """The definitions to add to ``target`` for ``source``'s blocks ``names`` (and what they
    use), and the name each imported block has in ``target``."""
    taken = set(target.blocks) | {n.type for n in target}
    renamed: dict[str, str] = {}
    added: list[BlockDefinition] = []
    for name in with_dependencies(source, names):
        definition = source.blocks[name]
        inner = definition.graph.copy()
        if any(n.type in renamed and renamed[n.type] != n.type for n in inner):
            inner = Graph(definition.name, template=True)
            for node in definition.graph:
                inner.add_node(replace(node, type=renamed.get(node.type, node.type)))
            for edge in definition.graph.edges:
                inner.add_edge(edge)
        copy = replace(definition, graph=inner)
        existing = target.blocks.get(name)
        if existing is not None and _same(existing, copy):
            renamed[name] = name
            continue
        new_name = name if name not in taken else fresh_name(name, taken)
        taken.add(new_name)
        renamed[name] = new_name
        added.append(replace(copy, name=new_name))
    return added, renamed


@dataclass(frozen=True)
class Library:
    """One graph file's block definitions."""

    path: Path
    graph: Graph

    @property
    def names(self) -> list[str]:
        return list(self.graph.blocks)


def read_library(folder: Path) -> tuple[list[Library], list[str]]:
    """Every ``*.json`` graph file of ``folder`` that defines blocks, and a note per file
    that could not be read."""
    from graph_engine.serialization import GraphFileError, load_graph

    libraries, notes = [], []
    for path in sorted(Path(folder).glob("*.json")):
        try:
            graph = load_graph(path)
        except (GraphFileError, OSError, ValueError) as error:
            notes.append(str(error))
            continue
        if graph.blocks:
            libraries.append(Library(path, graph))
    return libraries, notes


__all__ = ["Library", "import_definitions", "read_library", "with_dependencies"]
