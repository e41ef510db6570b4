"""``flask --app lms import outlets FILE [--dry-run] [--cohort ID] [--as EMAIL]``: the upload page's twin."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from ..errors import Invalid

import_cli = AppGroup("import", help="Import data from spreadsheets (CSV or XLSX).")

COUNT_NAMES = (("rows", "rows"), ("new_outlets", "new outlets"), ("updated_outlets", "updated outlets"),
               ("unchanged", "unchanged"), ("new_managers", "new managers"), ("updated_managers", "updated managers"),
               ("manager_changes", "manager changes"))


def _actor(email: str | None) -> Any:
    from ..extensions import db
    from ..people.models import Role, User
    from ..people.services import normalize_email
    from ..permissions import SYSTEM

    if not email:
        return SYSTEM
    user = db.session.scalar(sa.select(User).where(User.email == normalize_email(email)))
    if user is None or not user.active or user.role not in (Role.ADMIN, Role.COORDINATOR):
        raise click.ClickException(f"--as {email}: no active admin or coordinator with this e-mail")
    return user


def _counts(counts: dict[str, int], cohort: bool) -> str:
    names = COUNT_NAMES + ((("enrolments", "enrolments"),) if cohort else ())
    return ", ".join(f"{label}: {counts.get(key, 0)}" for key, label in names)


@import_cli.command("outlets")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True))
@click.option("--dry-run", is_flag=True, help="Check and show the preview; write nothing.")
@click.option("--cohort", "cohort_id", type=int, default=None, help="Enrol every manager in this cohort (its id).")
@click.option("--as", "as_email", default=None, metavar="EMAIL",
              help="Act as this admin or coordinator (their region rules apply). Default: the system.")
def import_outlets(file: str, dry_run: bool, cohort_id: int | None, as_email: str | None) -> None:
    """Import outlets and their managers from FILE. Exits 1 when the file has errors (nothing is written)."""
    from . import services

    actor = _actor(as_email)
    path = Path(file)
    with path.open("rb") as fh:
        data = fh.read(services.max_bytes() + 1)
    try:
        preview = services.preview_import(actor, data, path.name, cohort_id=cohort_id)
    except Invalid as e:
        for messages in e.reasons.values():
            for m in messages:
                click.echo(f"error: {m}", err=True)
        raise SystemExit(1)
    _print_preview(preview)
    if not preview.ok:
        click.echo(f"{preview.counts['errors']} error(s); nothing written.", err=True)
        raise SystemExit(1)
    if dry_run:
        click.echo("dry run: nothing written")
        return
    try:
        result = services.apply_import(actor, data, path.name, cohort_id=cohort_id)
    except services.ImportRejected as e:
        _print_errors(e.preview)
        click.echo("the database changed since the check; nothing written.", err=True)
        raise SystemExit(1)
    except Invalid as e:
        raise click.ClickException(str(e)) from None
    click.echo("imported: " + _counts(result.counts, result.cohort is not None))
    if result.new_managers:
        click.echo("password set-up links for the new managers (shown once):")
        for m in result.new_managers:
            click.echo(f"  {m.email}\t{m.full_name}\t{m.code}\t{services.setup_url(m.token)}")


def _print_preview(preview: Any) -> None:
    sheet = preview.sheet
    click.echo(f"{preview.filename}: {preview.kind}, header on row {sheet.header_row}, sha256 {preview.sha256}")
    if sheet.encoding_note:
        click.echo(f"note: {sheet.encoding_note}")
    if preview.cohort is not None:
        click.echo(f"cohort: {preview.cohort.name} (id {preview.cohort.id})")
    for c in sheet.ignored:
        click.echo(f"ignored column: {c.header} ({c.note})")
    click.echo("preview: " + _counts(preview.counts, preview.cohort is not None)
               + f", errors: {preview.counts['errors']}")
    _print_errors(preview)


def _print_errors(preview: Any) -> None:
    for e in preview.errors:
        click.echo(f"  row {e.row}, {e.column}: {e.message}", err=True)
