"""Hypothesis strategies that mutate real records into thousands of bad (and a few good) ones.

A mutant starts from a real DICOM instance or case report and goes through one to
three mutations: byte flips, truncation, inserted or deleted runs, a duplicated
slice, a zeroed range, structural JSON damage (keys dropped, types changed, huge or
odd strings, deep nesting), or the right bytes under the wrong media type. Every
mutant remembers its base so checks can look for the base's PHI in any answer.
One in twenty-five is an attack shape instead (tests/security/shapes.py): a deflate
bomb, DICOM sequences nested 200 deep, JSON nested 200,000 deep.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from tests.security.shapes import deflate_bomb, nested_json, nested_sequences


@dataclass(frozen=True)
class Base:
    kind: str  # "dicom" | "case_report"
    data: bytes
    needles: tuple[str, ...]  # identifying values in it (PHI that must never echo back)


@dataclass(frozen=True)
class Mutant:
    base: Base
    data: bytes
    content_type: str
    mutations: tuple[str, ...]

    @property
    def path(self) -> str:
        return "/instances" if self.content_type == "application/dicom" else "/case-reports"


def _flip(data: bytes, draw: st.DrawFn) -> tuple[bytes, str]:
    if not data:
        return data, "flip(empty)"
    out = bytearray(data)
    count = draw(st.integers(1, 16))
    for _ in range(count):
        position = draw(st.integers(0, len(out) - 1))
        out[position] ^= draw(st.integers(1, 255))
    return bytes(out), f"flip x{count}"


def _truncate(data: bytes, draw: st.DrawFn) -> tuple[bytes, str]:
    cut = draw(st.integers(0, max(0, len(data) - 1)))
    return data[:cut], f"truncate@{cut}"


def _insert(data: bytes, draw: st.DrawFn) -> tuple[bytes, str]:
    position = draw(st.integers(0, len(data)))
    blob = draw(st.binary(min_size=1, max_size=64))
    return data[:position] + blob + data[position:], f"insert {len(blob)}@{position}"


def _delete(data: bytes, draw: st.DrawFn) -> tuple[bytes, str]:
    start = draw(st.integers(0, max(0, len(data) - 1)))
    length = draw(st.integers(1, 512))
    return data[:start] + data[start + length :], f"delete {length}@{start}"


def _duplicate(data: bytes, draw: st.DrawFn) -> tuple[bytes, str]:
    start = draw(st.integers(0, max(0, len(data) - 1)))
    length = draw(st.integers(1, 256))
    chunk = data[start : start + length]
    return data[: start + length] + chunk + data[start + length :], f"dup {length}@{start}"


def _zero(data: bytes, draw: st.DrawFn) -> tuple[bytes, str]:
    start = draw(st.integers(0, max(0, len(data) - 1)))
    length = draw(st.integers(1, 128))
    end = min(len(data), start + length)
    return data[:start] + b"\x00" * (end - start) + data[end:], f"zero {length}@{start}"


def _header(data: bytes, draw: st.DrawFn) -> tuple[bytes, str]:
    # DICOM: the preamble, "DICM" and the file meta group live in the first ~300 bytes.
    start = draw(st.integers(0, min(400, max(0, len(data) - 1))))
    blob = draw(st.binary(min_size=1, max_size=16))
    return data[:start] + blob + data[start + len(blob) :], f"header {len(blob)}@{start}"


BYTE_MUTATIONS = (_flip, _truncate, _insert, _delete, _duplicate, _zero, _header)

ODD_VALUES: tuple[Any, ...] = (
    None,
    "",
    0,
    -1,
    10**30,
    1.5e308,
    True,
    [],
    {},
    "x" * 100_000,
    "\u0000\ud7ff\ufffd",
    "' OR 1=1 --",
    {"$where": "1"},
    [[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]],
)


def _json_mutation(data: bytes, draw: st.DrawFn) -> tuple[bytes, str]:
    document = json.loads(data)
    paths = list(_paths(document))
    path = draw(st.sampled_from(paths)) if paths else ()
    action = draw(st.sampled_from(("drop", "retype", "wrap", "root")))
    if action == "root":
        return json.dumps(draw(st.sampled_from(ODD_VALUES))).encode(), "json root replaced"
    parent, key = _parent(document, path)
    if parent is None:
        return json.dumps(document).encode(), "json unchanged"
    if action == "drop":
        del parent[key]
    elif action == "retype":
        parent[key] = draw(st.sampled_from(ODD_VALUES))
    else:
        parent[key] = [parent[key]] * draw(st.integers(0, 3))
    return json.dumps(document).encode(), f"json {action} {'.'.join(map(str, path))}"


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Any:
    if isinstance(value, dict):
        for key, child in value.items():
            yield (*prefix, key)
            yield from _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield (*prefix, index)
            yield from _paths(child, (*prefix, index))


def _parent(document: Any, path: tuple[Any, ...]) -> tuple[Any, Any]:
    if not path:
        return None, None
    node = document
    for step in path[:-1]:
        node = node[step]
    return node, path[-1]


ATTACKS: dict[str, tuple[str, Any]] = {
    "deflate bomb 256 MiB": ("application/dicom", deflate_bomb),
    "sequences nested 200 deep": ("application/dicom", lambda: nested_sequences(200)),
    "json nested 200000 deep": ("application/json", nested_json),
}


@st.composite
def mutants(draw: st.DrawFn, bases: list[Base]) -> Mutant:
    base = draw(st.sampled_from(bases))
    if draw(st.integers(0, 24)) == 0:
        name = draw(st.sampled_from(sorted(ATTACKS)))
        content_type, shape = ATTACKS[name]
        return Mutant(base, shape(), content_type, (f"attack: {name}",))
    data, applied = base.data, []
    json_ok = base.kind == "case_report"
    for _ in range(draw(st.integers(1, 3))):
        if json_ok and draw(st.booleans()):
            data, note = _json_mutation(data, draw)
        else:
            data, note = draw(st.sampled_from(BYTE_MUTATIONS))(data, draw)
            json_ok = False  # bytes changed: it may not parse any more
        applied.append(note)
    natural = "application/dicom" if base.kind == "dicom" else "application/json"
    # One in ten goes to the other door: right bytes, wrong media type.
    wrong = {"application/dicom": "application/json", "application/json": "application/dicom"}
    content_type = wrong[natural] if draw(st.integers(0, 9)) == 0 else natural
    return Mutant(base, data, content_type, tuple(applied))
