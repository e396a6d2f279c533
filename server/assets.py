"""Reading the assets: room files, catalogs, trigger rules, set lists and word lists.

The only place that opens them: world/ is handed the parsed data (its models validate it), so
the simulation never touches the file system. A broken file fails with its path and the field.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError

from world.commerce.catalog import Catalog
from world.core.scene import RoomConfig
from world.insight.triggers import Rule
from world.shows.concert import Setlist
from world.social.wordfilter import WordFilter


def load_wordfilter(folder: Path) -> WordFilter:
    """Every ``*.txt`` list in ``folder`` (a missing folder means no filter)."""
    words: list[str] = []
    if folder.is_dir():
        for f in sorted(folder.glob("*.txt")):
            words += f.read_text(encoding="utf-8").splitlines()
    return WordFilter(words)


class CatalogFileError(ValueError):
    """A catalog file that cannot be used, with the file and the reason in the message."""


def load_catalog(path: Path) -> Catalog:
    try:
        return Catalog.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CatalogFileError(f"{path}: cannot read catalog file: {exc}") from exc
    except ValidationError as exc:
        raise CatalogFileError(f"{path}: invalid catalog:\n{exc}") from exc


class RoomFileError(ValueError):
    """A room file that cannot be used, with the file and the reason in the message."""


def load_room(path: Path) -> RoomConfig:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RoomFileError(f"{path}: cannot read room file: {exc}") from exc
    try:
        return RoomConfig.model_validate(raw)
    except ValidationError as exc:
        raise RoomFileError(f"{path}: invalid room definition:\n{exc}") from exc


def load_rooms(path: Path, catalogs: Path | None = None) -> list[RoomConfig]:
    """Load one room file, or every ``*.json`` in a folder (sorted by name); ids must be unique.

    A room's catalog comes from ``<catalogs>/<room id>.json`` when that file exists
    (``catalogs`` defaults to the ``catalogs`` folder beside the rooms folder).
    """
    files = sorted(path.glob("*.json")) if path.is_dir() else [path]
    if not files:
        raise RoomFileError(f"{path}: no room files (*.json) found")
    rooms = [load_room(f) for f in files]
    assets = (path if path.is_dir() else path.parent).parent
    folder = catalogs if catalogs is not None else assets / "catalogs"
    for r in rooms:
        file = folder / f"{r.id}.json"
        if file.is_file():
            try:
                r.catalog = load_catalog(file)
            except CatalogFileError as exc:
                raise RoomFileError(str(exc)) from exc
        rules = assets / "triggers" / f"{r.id}.json"
        if rules.is_file():
            try:
                r.triggers = [Rule.model_validate(x) for x in json.loads(rules.read_text(encoding="utf-8"))]
            except (OSError, ValueError, TypeError) as exc:
                raise RoomFileError(f"{rules}: invalid trigger rules:\n{exc}") from exc
        show = assets / "shows" / f"{r.id}.json"
        if r.kind == "concert" and show.is_file():
            try:
                r.setlist = Setlist.model_validate(json.loads(show.read_text(encoding="utf-8")))
            except (OSError, ValueError) as exc:  # ValidationError and JSONDecodeError are ValueErrors
                raise RoomFileError(f"{show}: invalid set list:\n{exc}") from exc
    seen: set[str] = set()
    for r in rooms:
        if r.id in seen:
            raise RoomFileError(f"{path}: room id {r.id!r} is defined twice")
        seen.add(r.id)
    return rooms
