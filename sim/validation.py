"""Helpers shared by the building and scenario loaders: collect every problem, then raise once."""

from __future__ import annotations

import difflib
import math
import tomllib
from pathlib import Path
from typing import Any, Iterable

from .errors import InputError


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest choice, or an empty string."""
    close = difflib.get_close_matches(str(word), sorted(set(choices)), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def describe(value: Any) -> str:
    """A short rendering of a received value for an error message."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class Problems:
    """Collects problems with one file and raises them together as ``error_cls``."""

    def __init__(self, source: str | Path, error_cls: type[InputError]):
        self.source = str(source)
        self.error_cls = error_cls
        self.items: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.items.append(f"{where}: {message}" if where else message)

    def raise_if_any(self) -> None:
        if self.items:
            raise self.error_cls(self.source, self.items)

    # --- typed readers; each records a problem and returns a fallback on failure ---

    def check_keys(self, table: dict, where: str, allowed: Iterable[str],
                   required: Iterable[str] = ()) -> None:
        allowed = set(allowed)
        for key in table:
            if key not in allowed:
                self.add(f"{where}.{key}" if where else key,
                         f"unknown key{did_you_mean(key, allowed)}; expected one of: "
                         + ", ".join(sorted(allowed)))
        for key in required:
            if key not in table:
                self.add(f"{where}.{key}" if where else key, "missing required key")

    def number(self, table: dict, key: str, where: str, default: float | None = None, *,
               minimum: float | None = None, maximum: float | None = None,
               exclusive_min: bool = False) -> float | None:
        path = f"{where}.{key}" if where else key
        if key not in table:
            if default is None:
                self.add(path, "missing required number")
            return default
        value = table[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.add(path, f"got {describe(value)}, expected a number")
            return default
        value = float(value) + 0.0  # (-0.0 becomes 0.0: NumPy refuses a sigma of -0.0)
        if not math.isfinite(value):  # (TOML writes nan and inf; no field means either)
            self.add(path, f"got {value:g}, expected a finite number")
            return default
        low_ok = minimum is None or (value > minimum if exclusive_min else value >= minimum)
        if not low_ok or (maximum is not None and value > maximum):
            low = "" if minimum is None else (f"> {minimum:g}" if exclusive_min
                                              else f">= {minimum:g}")
            high = "" if maximum is None else f"<= {maximum:g}"
            self.add(path, f"got {value:g}, expected a number {' and '.join(x for x in (low, high) if x)}")
            return default
        return value

    def integer(self, table: dict, key: str, where: str, default: int | None = None, *,
                minimum: int | None = None, maximum: int | None = None) -> int | None:
        path = f"{where}.{key}" if where else key
        if key not in table:
            if default is None:
                self.add(path, "missing required integer")
            return default
        value = table[key]
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(path, f"got {describe(value)}, expected a whole number")
            return default
        if minimum is not None and value < minimum:
            self.add(path, f"got {value}, expected a whole number >= {minimum}")
            return default
        if maximum is not None and value > maximum:
            self.add(path, f"got {value}, expected a whole number <= {maximum:,}")
            return default
        return value

    def string(self, table: dict, key: str, where: str, default: str | None = None, *,
               choices: Iterable[str] | None = None, allow_empty: bool = False) -> str | None:
        """Text; empty text (or only spaces) is a problem unless ``allow_empty``: a name, a
        region or a target left empty is a slip, not a choice."""
        path = f"{where}.{key}" if where else key
        if key not in table:
            if default is None:
                self.add(path, "missing required text")
            return default
        value = table[key]
        if not isinstance(value, str):
            self.add(path, f"got {describe(value)}, expected text")
            return default
        if not allow_empty and not value.strip():
            self.add(path, f"got {describe(value)}, expected non-empty text")
            return default
        if choices is not None:
            choices = list(choices)
            if value not in choices:
                self.add(path, f"got {describe(value)}{did_you_mean(value, choices)}; expected "
                         "one of: " + ", ".join(choices))
                return default
        return value

    def table_list(self, doc: dict, key: str, where: str) -> list[dict]:
        """An array of tables (``[[key]]``), or [] with a problem recorded."""
        raw = doc.get(key, [])
        if not isinstance(raw, list) or not all(isinstance(x, dict) for x in raw):
            self.add(where, f"got {describe(raw)}, expected [[{key}]] tables")
            return []
        return raw

    def table(self, parent: dict, key: str, where: str) -> dict:
        path = f"{where}.{key}" if where else key
        value = parent.get(key, {})
        if not isinstance(value, dict):
            self.add(path, f"got {describe(value)}, expected a table")
            return {}
        return value


def read_toml(path: Path, error_cls: type[InputError]) -> dict:
    """Parse a TOML file, turning I/O and syntax errors into ``error_cls``."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise error_cls(str(path), ["file not found"]) from None
    except IsADirectoryError:
        raise error_cls(str(path), ["is a folder, expected a .toml file"]) from None
    try:
        # (utf-8-sig: a byte-order mark, which Windows Notepad writes, is skipped)
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise error_cls(str(path), [f"line {line}: not UTF-8 text (byte 0x{data[exc.start]:02x}); "
                                    "save the file as UTF-8 (GBK and other encodings are not "
                                    "read)"]) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error_cls(str(path), [f"not valid TOML: {exc}"]) from None


def check_schema(doc: dict, expected: str, problems: Problems) -> None:
    schema = doc.get("schema")
    if schema != expected:
        problems.add("schema", f"got {describe(schema)}, expected \"{expected}\" as the first "
                     "key of the file")
