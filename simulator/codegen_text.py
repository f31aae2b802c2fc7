"""Writing Python source text for `simulator.codegen`: lines at an indentation level, and the
literals, f-strings and expressions the generated program uses."""

from __future__ import annotations

import re
import string
from contextlib import contextmanager

from .scenario import Pace

_SAFE_SPEC = re.compile(r"[\w<>=^+\- #,.%]*")


class Code:
    """Lines of code at an indentation level, and the modules they use."""

    def __init__(self):
        self.lines: list[str] = []
        self.depth = 0
        self.modules: set[str] = set()

    def add(self, text: str = "") -> int:
        self.lines.append("    " * self.depth + text if text else "")
        return len(self.lines)

    @contextmanager
    def indented(self):
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1

    @contextmanager
    def block(self, header: str):
        line = self.add(header)
        with self.indented():
            yield line

    def sleep(self, seconds: str, comment: str) -> int:
        self.modules.add("time")
        return self.add(f"time.sleep({seconds})  # {comment}")


def seconds_expr(pace: Pace) -> str:
    """The expression behaviours.pace_seconds computes."""
    if pace.up_to is None:
        return repr(pace.seconds)
    return f"round(rng.uniform({pace.seconds!r}, {pace.up_to!r}), 3)"


def string_literal(text: str) -> str:
    """repr(text), in double quotes when that needs no escape."""
    quoted = repr(text)
    if quoted[0] == "'" and '"' not in text and "'" not in text:
        return f'"{quoted[1:-1]}"'
    return quoted


def literal(value) -> str:
    """Python source for a JSON payload (repr, except for the floats repr cannot write)."""
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return f"float({string_literal(str(value))})"
    if isinstance(value, list):
        return "[" + ", ".join(map(literal, value)) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{string_literal(k)}: {literal(v)}" for k, v in value.items()) + "}"
    return string_literal(value) if isinstance(value, str) else repr(value)


def format_expr(template: str, constants: dict[str, str], variables: dict[str, str]) -> str:
    """An expression for ``template.format(**constants, **variables)``: a string literal, an
    f-string, or (for unusual format specs) the ``.format`` call itself."""
    convert = {None: str, "s": str, "r": repr, "a": ascii}
    parts, uses_variable = [], False
    try:
        for text, name, spec, conv in string.Formatter().parse(template):
            parts.append(text.replace("{", "{{").replace("}", "}}"))
            if name is None:
                continue
            if name in constants:
                value = format(convert[conv](constants[name]), spec)
                parts.append(value.replace("{", "{{").replace("}", "}}"))
                continue
            if not _SAFE_SPEC.fullmatch(spec):
                raise ValueError(spec)
            uses_variable = True
            conv, spec = f"!{conv}" if conv else "", f":{spec}" if spec else ""
            parts.append("{" + variables[name] + conv + spec + "}")
    except (ValueError, KeyError, TypeError):
        args = [f"{k}={string_literal(v)}" for k, v in constants.items()]
        args += [f"{k}={v}" for k, v in variables.items()]
        return f"{string_literal(template)}.format({', '.join(args)})"
    return "f" + string_literal("".join(parts)) if uses_variable else string_literal(template.format(**constants))


def template_fields(template: str) -> set[str]:
    try:
        return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError:
        return set()


def docstring_text(text: str) -> str:
    """`text` escaped for a triple-quoted string."""
    text = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    return "".join(c if c.isprintable() or c == "\n" else c.encode("unicode_escape").decode()
                   for c in text)
