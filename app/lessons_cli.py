"""``rosenblatt lessons`` and ``rosenblatt lesson KEY``: the course's demonstrations, listed or run."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

EXIT_OK, EXIT_FAILED, EXIT_UNREADABLE = 0, 1, 2


def cmd_lessons(args: argparse.Namespace) -> int:
    from graph_engine.lessons import LESSONS

    for lesson in LESSONS:
        verdict = {True: "reproduces", False: "does not reproduce", None: ""}[lesson.reproduces]
        print(f"{lesson.number:2}. {lesson.key:18} {lesson.title}")
        if lesson.measured:
            print(f"    measured: {lesson.measured}{f' ({verdict})' if verdict else ''}")
    return EXIT_OK


def cmd_lesson(args: argparse.Namespace) -> int:
    from graph_engine.lessons import get_lesson, run_lesson

    try:
        lesson = get_lesson(args.key)
    except KeyError as error:
        print(f"rosenblatt lesson: {error.args[0]}", file=sys.stderr)
        return EXIT_UNREADABLE
    if not args.headless:
        from app.gui import run_gui

        return run_gui(lesson=lesson.key)
    print(f"{lesson.number}. {lesson.title}\nLook for: {lesson.look_for}\nThe course: {lesson.claim}", file=sys.stderr)
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix=f"rosenblatt-lesson-{lesson.key}-"))
    started = time.perf_counter()
    try:
        result = run_lesson(lesson.key, out)
    except (ValueError, OSError) as error:
        print(f"rosenblatt lesson: {error}", file=sys.stderr)
        return EXIT_FAILED
    print(f"runs in {out}; {time.perf_counter() - started:.0f} s", file=sys.stderr)
    print(result.text)
    print(f"{result.name}: {result.value:.4g}")
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``lessons`` and ``lesson`` to the main parser."""
    lessons = sub.add_parser("lessons", help="list the course's lessons with their measured numbers")
    lessons.set_defaults(run=cmd_lessons)
    lesson = sub.add_parser("lesson", help="open a lesson in the app, or run it with --headless and print "
                                           "its measured headline number")
    lesson.add_argument("key", help="the lesson's key (see `rosenblatt lessons`)")
    lesson.add_argument("--headless", action="store_true", help="run it here and print its headline number")
    lesson.add_argument("--out", help="folder for the lesson's run folders (default: a new temporary folder)")
    lesson.set_defaults(run=cmd_lesson)
