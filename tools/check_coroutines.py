#!/usr/bin/env python3
"""Flags code that g++ 12 compiles into double frees inside coroutines.

g++ 12 mishandles the temporaries of a co_await expression in three ways that we have
hit (double free, free of a non-heap pointer, a crash on resumption): a braced
temporary or initializer list among the arguments of the awaited call, co_await inside
the ?: operator, and co_await inside an if/while condition. All are easy to write and
invisible in review, so the test command refuses them."""
import pathlib
import re
import sys

root = pathlib.Path(__file__).resolve().parent.parent
problems = []
for path in sorted(root.glob("**/*.[ch]pp")):
    if "build" in path.relative_to(root).parts[:1]:
        continue
    # Comments out, line structure kept ("https://" in strings stays: no space before //).
    text = re.sub(r"(^|\s)//[^\n]*", r"\1", path.read_text(), flags=re.M)
    for match in re.finditer(r"\bco_await\b", text):
        end = text.find(";", match.end())
        expression = text[match.end():end]
        line = text.count("\n", 0, match.start()) + 1
        where = f"{path.relative_to(root)}:{line}"
        if re.search(r"[(,]\s*\{", expression) or re.search(r"\w\{", expression):
            problems.append(f"{where}: braced temporary in a co_await expression")
    for match in re.finditer(r"[?:]\s*co_await\b", text):
        line = text.count("\n", 0, match.start()) + 1
        problems.append(f"{path.relative_to(root)}:{line}: co_await inside ?:")
    # `if (auto r = co_await f(); !r)` and `if (auto r = co_await f())` are fine: the
    # await initialises a variable. `if (!co_await f())` is not.
    for match in re.finditer(r"\b(if|while)\s*\((?![^;{}]*;)(?![^;{}=]*=)[^;{}]*\bco_await\b",
                             text):
        line = text.count("\n", 0, match.start()) + 1
        problems.append(f"{path.relative_to(root)}:{line}: co_await in a condition")
for problem in problems:
    print(problem)
if problems:
    print("Await into a named variable first, then use it (g++ 12 coroutine bugs).")
    sys.exit(1)
