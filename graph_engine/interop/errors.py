"""Errors of the export and import paths: one line that names what failed and where."""

from __future__ import annotations

import re

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class InteropError(ValueError):
    """An export or import that cannot be done; ``str()`` is one line a person can act on."""


class MissingExtra(InteropError):
    """An optional dependency is not installed; the message names the extra that brings it."""

    def __init__(self, what: str, packages: list[str], extra: str):
        self.packages = packages
        self.extra = extra
        verb = "is" if len(packages) == 1 else "are"
        super().__init__(f"{what} needs {' and '.join(packages)}, which {verb} not installed: "
                         f'pip install "rosenblatt[{extra}]"')


class UnsupportedModel(InteropError):
    """A PyTorch model with calls that have no layer type; ``problems`` lists each one."""

    def __init__(self, model: str, problems: list[str]):
        self.model = model
        self.problems = problems
        count = len(problems)
        super().__init__(f"{model}: {count} call{'s' if count != 1 else ''} cannot become a layer: "
                         + "; ".join(problems))


def reason(error: BaseException) -> str:
    """One line of why torch refused (an exporter, the script compiler, fx): the exception's
    summary without colour codes, instead of its pages of advice and IR dumps."""
    text = _ANSI.sub("", str(error))
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if "## Exception summary" in lines:
        after = lines[lines.index("## Exception summary") + 1:]
        summary = next((line for line in after if not line.startswith("⬆")), "")
        summary = re.sub(r"^<class '(?:[\w.]+\.)?(\w+)'>: ", r"\1: ", summary)
        if summary:
            return _short(summary)
    if not lines:
        return type(error).__name__
    detail = next((line for line in lines[1:] if line.startswith("Expected ")), "")
    return _short(f"{lines[0]} {detail}".strip())


def one_line(error: BaseException) -> str:
    """``Type: message`` on one line: the model's own exceptions may span several."""
    text = " ".join(str(error).split())
    return _short(f"{type(error).__name__}: {text}" if text else type(error).__name__)


def _short(text: str, limit: int = 240) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"
