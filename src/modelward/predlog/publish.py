"""Publishing a closed write-ahead segment: its rows as Parquet files in the log, the rows
Arrow cannot store set aside, then the segment deleted.

:func:`publish_converted` writes what a conversion made; :func:`publish_segment` does the
whole of one segment. A server publishes in a process of its own (``python -m
modelward.predlog.publish LOGS SEGMENT``, see :class:`~.writer.LogWriter`'s
``separate_process``): the conversion of 100,000 rows holds ~150 MB and Arrow's modules
~90 MB more, and none of it is then the server's, nor the GIL it takes between requests.
The process says what it did in one JSON line on stdout:

- ``{"claimed": false}``: another process holds the segment, or it is gone;
- ``{"written": ROWS, "files": N, "aside": [FILE, ROWS, REASON] | null}``: published;
- ``{"storage": MESSAGE, "rows": ROWS}`` (exit 3): log storage refused; the segment stays;
- a traceback on stderr (exit 1): a bug; the segment stays.
"""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from modelward.errors import StorageError
from modelward.predlog.compact import merge_own
from modelward.predlog.convert import convert_segment, json_line
from modelward.predlog.derive import with_request_columns
from modelward.predlog.layout import QUARANTINE, SEGMENT_KEY, partition
from modelward.predlog.segment import claimed, rows_in
from modelward.predlog.sink import LocalSink, open_sink

if TYPE_CHECKING:
    from collections.abc import Callable

    from modelward.predlog.convert import Converted
    from modelward.predlog.sink import Sink

__all__ = ["STORAGE_EXIT", "Published", "publish_converted", "publish_segment"]

log = logging.getLogger("modelward.predlog")

#: The exit code of a publishing process whose log storage refused the files.
STORAGE_EXIT = 3


@dataclass
class Published:
    """What one publishing wrote: rows and files, and the rows set aside (where, how many,
    why) when some could not be stored."""

    written: int = 0
    files: int = 0
    aside: tuple[str, int, str] | None = None


def publish_converted(sink: Sink, stem: str, converted: Converted, *, check: bool) -> Published:
    """Write ``converted`` as ``<partition>/<stem>.parquet`` files (skipping those that are
    there already when ``check``: published before a crash could delete the segment), and
    its unstorable rows as ``quarantine/<stem>.jsonl``."""
    done = Published()
    items = converted.quarantined
    if items:
        relpath = f"{QUARANTINE}/{stem}.jsonl"
        sink.put(relpath, b"".join(json_line(item) for item in items))
        done.aside = (f"{sink.url}/{relpath}", len(items), items[0]["reason"])
    for (kind, model, date), table in converted.tables.items():
        relpath = f"{partition(kind, model, date)}/{stem}.parquet"
        if check and sink.has(relpath):
            continue
        table = with_request_columns(table)  # so reads compare integers, not ids
        sink.write(relpath, table.replace_schema_metadata({SEGMENT_KEY: stem}))
        done.files += 1
        done.written += table.num_rows
    if isinstance(sink, LocalSink):
        for kind, model, date in converted.tables:
            _merge(sink.root / partition(kind, model, date), stem)
    return done


#: The merge failures already logged as warnings (each once per process: a torn file
#: fails every publishing's merge until someone removes it); at most _SAID_MAX of them.
_SAID: set[str] = set()
_SAID_MAX = 1024


def _merge(folder: Path, stem: str) -> None:
    """The rolling merge of the files of ``stem``'s writer in ``folder``
    (:func:`.compact.merge_own`). It only makes reading faster: when it fails, the files
    stay as they are (each row is read once either way) and the next publishing tries
    again."""
    try:
        merge_own(folder, stem.rpartition("-")[0])
    except Exception as exc:  # noqa: BLE001 - whatever a file there holds, publishing goes on
        message = exc.message if isinstance(exc, StorageError) else str(exc)
        said = f"cannot merge the log files of {folder} ({message}); they stay as they are"
        log.log(logging.DEBUG if said in _SAID else logging.WARNING, "%s", said)
        if len(_SAID) < _SAID_MAX:
            _SAID.add(said)


def publish_segment(
    sink: Sink, path: Path, *, check: bool, failed: Callable[[int], None] | None = None
) -> Published | None:
    """Publish the closed segment at ``path`` and delete it; None when another process
    holds it or it is gone. When writing fails, ``failed`` is told how many rows the
    segment holds (it stays) before the error is raised again."""
    with claimed(path) as data:
        if data is None:
            return None
        try:
            done = publish_converted(sink, path.stem, convert_segment(data), check=check)
        except Exception:
            if failed is not None:
                failed(rows_in(data))
            raise
        path.unlink(missing_ok=True)
    return done


def main(argv: list[str]) -> int:
    """``LOGS SEGMENT [--check]``: publish one segment, say what happened as JSON."""
    if len(argv) not in (2, 3) or argv[2:] not in ([], ["--check"]):
        print(
            "usage: python -m modelward.predlog.publish LOGS SEGMENT [--check] "
            "(modelward serve runs it for each closed write-ahead segment)",
            file=sys.stderr,
        )
        return 2
    logs, segment, *flags = argv
    held: list[int] = []
    try:
        done = publish_segment(
            open_sink(logs), Path(segment), check="--check" in flags, failed=held.append
        )
    except (OSError, StorageError) as exc:  # anything else is a bug: traceback, exit 1
        message = exc.message if isinstance(exc, StorageError) else str(exc)
        print(json.dumps({"storage": message, "rows": held[0] if held else 0}))
        return STORAGE_EXIT
    if done is None:
        print(json.dumps({"claimed": False}))
    else:
        print(json.dumps({"written": done.written, "files": done.files, "aside": done.aside}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
