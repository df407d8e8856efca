"""The graph a command-line argument names: a file, ``template:KEY``, or the default template.

Shared by every CLI command (summary, export, train, import's checks), so each module
imports this rather than the CLI's entry point.
"""

from __future__ import annotations

from graph_engine import DEFAULT_TEMPLATE, Graph, GraphFileError, load_graph, load_template


def load_graph_argument(path: str | None) -> Graph:
    """A graph file, ``template:KEY`` for a shipped template, or the default template."""
    if path is None:
        return load_template(DEFAULT_TEMPLATE)
    if path.startswith("template:"):
        try:
            return load_template(path.split(":", 1)[1])
        except KeyError as error:
            raise GraphFileError(path, error.args[0]) from None
    return load_graph(path)


def graph_file(path: str | None) -> str | None:
    """The file a graph argument reads (None for a template), which nothing may write over."""
    return None if path is None or path.startswith("template:") else path
