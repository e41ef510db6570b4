"""``flask --app lms storage migrate [--to s3://bucket/prefix]``: copy the local folders to the object store.

Every key of every area (lms/storage.py) in the local folders (``UPLOAD_DIR``, ``CERTIFICATE_DIR``,
``IMPORT_DIR``, ``BRANDING_DIR`` or their defaults in the instance path) is copied to the object
store named by ``--to`` (default: the configured ``LMS_STORAGE_URL``), under the same key.

* Idempotent: a key already there with the same size and sha256 is left alone ("already there"),
  so an interrupted run is simply run again.
* Each copied object is read back from the store and hashed; only a matching sha256 counts as
  "verified". Anything else is "failed", and the command exits non-zero.
* The local files are never changed or removed: switch the app over (``LMS_STORAGE_URL``) once
  the counts are right, and keep the folders until a backup of the bucket exists.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from .storage import AREAS, LocalStorage, Storage, local_roots, sha256_of, storage_for

storage_cli = AppGroup("storage", help="Stored files: move them to an object store.")


@dataclass
class MigrateCounts:
    copied: int = 0
    already: int = 0
    verified: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def migrate_one(source: LocalStorage, dest: Storage, area: str, key: str, counts: MigrateCounts) -> None:
    """Copy one key unless it is there already; read the copy back and compare its sha256."""
    path = source.local_path(area, key)
    assert path is not None
    try:
        with open(path, "rb") as f:
            digest = sha256_of(f)
        size = path.stat().st_size
        if dest.exists(area, key) and dest.size(area, key) == size and dest.sha256(area, key) == digest:
            counts.already += 1
            return
        dest.put_file(area, key, Path(path))
        counts.copied += 1
        with dest.open(area, key) as f:
            back = sha256_of(f)
        if back != digest:
            raise OSError(f"the stored copy's sha256 is {back}, the file's {digest}")
        counts.verified += 1
    except Exception as e:  # noqa: BLE001 - counted and listed; the run goes on with the next key
        counts.failed += 1
        counts.errors.append(f"{area}/{key}: {type(e).__name__}: {e}")


def migrate(dest: Storage, source: LocalStorage | None = None, *, show_progress: bool = True) -> MigrateCounts:
    source = source or LocalStorage(local_roots(current_app))
    todo = [(area, key) for area in AREAS for key in sorted(source.keys(area))]
    counts = MigrateCounts()
    with click.progressbar(todo, label=f"copying {len(todo)} files", show_pos=True, hidden=not show_progress,
                           item_show_func=lambda item: f"{item[0]}/{item[1]}" if item else None) as bar:
        for area, key in bar:
            migrate_one(source, dest, area, key, counts)
    return counts


@storage_cli.command("migrate")
@click.option("--to", "to", metavar="s3://bucket/prefix",
              help="The object store to copy to (default: LMS_STORAGE_URL).")
def migrate_command(to: str | None) -> None:
    """Copy every stored file from the local folders to the object store (idempotent, verified by sha256)."""
    url = (to or current_app.config.get("STORAGE_URL") or "").strip()
    if not url.startswith("s3://"):
        raise click.UsageError("Name the object store: --to s3://bucket/prefix (or set LMS_STORAGE_URL to it).")
    try:
        dest = storage_for(url, current_app)
    except ValueError as e:
        raise click.UsageError(str(e)) from None
    source = LocalStorage(local_roots(current_app))
    click.echo(f"from {', '.join(f'{a}={p}' for a, p in source.roots.items())}")
    click.echo(f"to   {url}")
    counts = migrate(dest, source)
    for line in counts.errors[:50]:
        click.echo(f"failed: {line}", err=True)
    if len(counts.errors) > 50:
        click.echo(f"… and {len(counts.errors) - 50} more", err=True)
    click.echo(f"copied {counts.copied}, already there {counts.already}, verified by sha256 {counts.verified}, "
               f"failed {counts.failed}")
    if counts.failed:
        raise SystemExit(1)
