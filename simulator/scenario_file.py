"""Reading and writing scenario files.

A scenario file is JSON::

    {"format": "ipcsim-scenario", "version": 1,
     "scenario": {...},            # simulator.scenario.Scenario
     "layout": {"positions": {"P1": [x, y], ...}}}

Loading parses JSON (never executes anything), refuses unknown formats and versions, migrates
older versions through explicit functions (none yet: version 1 is the first), validates every
field with pydantic and the graph with `scenario.check`, and raises :class:`ScenarioError` listing
each problem as "path: reason". Saving writes a temporary file and renames it over the target.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, BinaryIO

from pydantic import TypeAdapter, ValidationError

from .scenario import Document, Layout, Scenario, check

FORMAT = "ipcsim-scenario"
VERSION = 1
MAX_BYTES = 4 * 1024 * 1024

MIGRATIONS: dict[int, Any] = {}  # version n -> function turning a version-n dict into n+1

_scenario_adapter = TypeAdapter(Scenario)
_layout_adapter = TypeAdapter(Layout)


class ScenarioError(ValueError):
    """A scenario that cannot be used; `errors` holds one "path: reason" line per problem."""

    def __init__(self, errors: list[str], source: str = "scenario"):
        self.errors = errors
        self.source = source
        super().__init__(f"{source}: " + "; ".join(errors))


def loads(text: str | bytes, source: str = "scenario") -> Document:
    if len(text) > MAX_BYTES:
        raise ScenarioError([f"file is larger than {MAX_BYTES // 1024 // 1024} MiB"], source)
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ScenarioError([f"not valid JSON: {exc}"], source) from None
    return from_dict(data, source)


def from_dict(data: Any, source: str = "scenario") -> Document:
    if not isinstance(data, dict):
        raise ScenarioError(["the file must hold a JSON object"], source)
    if data.get("format") != FORMAT:
        raise ScenarioError([f"format: expected {FORMAT!r}, found {data.get('format')!r}"], source)
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ScenarioError([f"version: expected a whole number >= 1, found {version!r}"], source)
    if version > VERSION:
        raise ScenarioError([f"version: {version} is newer than this ipcsim understands ({VERSION})"], source)
    while version < VERSION:
        data, version = MIGRATIONS[version](data), version + 1
    extra = set(data) - {"format", "version", "scenario", "layout"}
    if extra:
        raise ScenarioError([f"{sorted(extra)[0]}: unknown top-level field"], source)

    errors: list[str] = []
    scenario = layout = None
    try:
        # JSON text so that strict mode still reads arrays as tuples
        scenario = _scenario_adapter.validate_json(json.dumps(data.get("scenario", {})), strict=True)
    except ValidationError as exc:
        errors += _messages("scenario", exc)
    try:
        layout = _layout_adapter.validate_json(json.dumps(data.get("layout", {})))
    except ValidationError as exc:
        errors += _messages("layout", exc)
    if scenario is not None:
        errors += check(scenario)
    if errors:
        raise ScenarioError(errors, source)
    return Document(scenario, layout)


def load(path: str | os.PathLike) -> Document:
    path = Path(path)
    try:
        with open(path, "rb") as f:
            text = f.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ScenarioError([exc.strerror or str(exc)], str(path)) from None
    return loads(text, str(path))


def to_dict(doc: Document) -> dict:
    return {
        "format": FORMAT,
        "version": VERSION,
        "scenario": dataclasses.asdict(doc.scenario),
        "layout": {"positions": {k: list(v) for k, v in doc.layout.positions.items()}},
    }


def dumps(doc: Document) -> str:
    return json.dumps(to_dict(doc), indent=2, ensure_ascii=False) + "\n"


def save(doc: Document, path: str | os.PathLike) -> None:
    """Write atomically: a temporary file in the same folder, flushed, then renamed over `path`."""
    write_atomic(Path(path), dumps(doc).encode())


def write_atomic(path: Path, data: bytes | BinaryIO) -> None:
    """`data` (bytes, or a file to copy from) into `path`: a temporary file in the same folder,
    flushed, then renamed over `path`, so `path` is never left half written."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "wb") as f:
            if isinstance(data, bytes):
                f.write(data)
            else:
                shutil.copyfileobj(data, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def _messages(root: str, exc: ValidationError) -> list[str]:
    """pydantic's errors as "scenario.nodes[2].maxsize: Input should be ..." lines."""
    out = []
    for err in exc.errors():
        path = root
        for part in err["loc"]:
            if isinstance(part, int):
                path += f"[{part}]"
            elif part in _UNION_TAGS or not part.isidentifier() or part in _TYPE_NAMES:
                continue  # pydantic names the union member it tried; the field path is enough
            else:
                path += f".{part}"
        out.append(f"{path}: {err['msg']}")
    return out


_UNION_TAGS = {"producer", "consumer", "worker", "queue", "pipe", "pool", "dict", "list", "lock"}
_TYPE_NAMES = {"int", "str", "float", "bool", "none", "list", "dict"}
