"""The files of one export: the output, its partial file, its checkpoint, and how each is written.

While an export runs, items go to ``FILE.partial`` (JSON Lines, whatever the final format) and, at
most every ``CHECKPOINT_INTERVAL`` seconds, at the last page and when the export stops,
``FILE.checkpoint.json`` records how far it got: the partial file's size and item count, and the
resume token naming where the next page starts. The checkpoint is replaced atomically and
written only after the page it counts is on disk, so it never claims more than the partial file
holds. Resuming truncates the partial file to the checkpointed size (dropping a page that was being
written when the process stopped) and continues from the token. ``FILE`` itself appears only when
the export is complete, by a rename.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, Any

import attrs
import orjson

__all__ = ["CHECKPOINT_VERSION", "Checkpoint", "ExportFiles", "write_atomically"]

CHECKPOINT_VERSION = 1  # bumped when the checkpoint's fields change meaning


@attrs.frozen
class Checkpoint:
    """How far an export got: enough to continue it without losing or repeating an item."""

    resource: str  # "responses", "contacts", "forms" or "segments"
    format: str  # the final format: "jsonl", "csv" or "parquet"
    query: dict[str, Any]  # filters not at their default, page_length and max_items, as JSON
    items: int = 0  # items in the partial file
    pages: int = 0  # pages written to the partial file, over every run
    size: int = 0  # bytes of the partial file that those items fill
    resume_token: str | None = None  # where the next page starts (None before the first page)
    total: int | None = None  # the server's items_count for the query, once a page said it
    complete: bool = False  # every page is in the partial file: only the final rename is left
    version: int = CHECKPOINT_VERSION

    def to_json(self) -> bytes:
        return orjson.dumps(attrs.asdict(self), option=orjson.OPT_INDENT_2)

    @classmethod
    def from_json(cls, data: bytes) -> Checkpoint:
        """Read a checkpoint; ValueError when it is not one this version wrote."""
        try:
            raw = orjson.loads(data)
            if raw.get("version") != CHECKPOINT_VERSION:
                raise ValueError(f"version {raw.get('version')!r}, expected {CHECKPOINT_VERSION}")
            return cls(**raw)
        except (orjson.JSONDecodeError, AttributeError, TypeError) as exc:
            raise ValueError(str(exc)) from None


def write_atomically(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that a reader sees the old or the new content, never a mix."""
    temp = path.with_name(path.name + ".tmp")
    with open(temp, "wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temp, path)


@attrs.frozen
class ExportFiles:
    """The paths of one export, all beside the output."""

    output: Path  # appears only when the export is complete
    partial: Path  # FILE.partial: the items so far, as JSON Lines
    checkpoint: Path  # FILE.checkpoint.json
    converting: Path  # FILE.converting: the CSV or Parquet file being built from the partial file

    @classmethod
    def beside(cls, output: str | os.PathLike[str]) -> ExportFiles:
        out = Path(output)
        return cls(
            output=out,
            partial=out.with_name(out.name + ".partial"),
            checkpoint=out.with_name(out.name + ".checkpoint.json"),
            converting=out.with_name(out.name + ".converting"),
        )

    @property
    def lock(self) -> Path:
        """FILE.lock: held by the export writing these files (see ``_lock``)."""
        return self.output.with_name(self.output.name + ".lock")

    def load_checkpoint(self) -> Checkpoint | None:
        """The checkpoint, or None when there is none."""
        try:
            data = self.checkpoint.read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return None  # (writing beside it will say why it cannot be)
        return Checkpoint.from_json(data)

    def save_checkpoint(self, checkpoint: Checkpoint) -> None:
        write_atomically(self.checkpoint, checkpoint.to_json())

    def open_partial(self, size: int) -> IO[bytes]:
        """The partial file for appending, cut to ``size`` bytes (0 creates it afresh)."""
        file = open(self.partial, "r+b" if size else "wb")  # noqa: SIM115 (the caller closes it)
        try:
            file.truncate(size)
            file.seek(size)
        except BaseException:
            file.close()
            raise
        return file

    def discard(self) -> None:
        """Remove the checkpoint, any half-converted file and the partial file, in that order.

        The checkpoint goes first: a checkpoint without its partial file means the export was
        complete and only its rename may be left (see ``_run._prepare``), so a discard stopped
        half-way must never leave one.
        """
        for path in (self.checkpoint, self.converting, self.partial):
            path.unlink(missing_ok=True)
