"""Command-line interface: ``flask --app lms …``. Each command calls a service."""
from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import click
import sqlalchemy as sa
from flask import Flask
from flask.cli import AppGroup

from .errors import Invalid

user_cli = AppGroup("user", help="Manage user accounts.")


@user_cli.command("create")
@click.argument("email", required=False, default="")
@click.option("--name", "full_name", required=True, help="Full name.")
@click.option("--role", type=click.Choice(["trainee", "mentor", "coordinator", "admin"]), required=True)
@click.option("--region", "region_code", help="Region code, e.g. 3171 (mentors, coordinators).")
@click.option("--outlet", "outlet_code", help="Outlet code (trainees).")
@click.option("--phone", default=None)
def user_create(email: str, full_name: str, role: str, region_code: str | None, outlet_code: str | None,
                phone: str | None) -> None:
    """Create a user. The password is read from standard input when it is not a terminal.

    EMAIL may be left out for a trainee with --phone: they sign in with the number and a code."""
    from .extensions import db
    from .people import services
    from .people.models import Role
    from .permissions import SYSTEM
    from .places.models import Region

    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    region_id = None
    if region_code:
        region_id = db.session.scalar(sa.select(Region.id).where(Region.code == region_code))
        if region_id is None:
            raise click.ClickException(f"unknown region code {region_code!r}")
    try:
        user, _token = services.create_user(SYSTEM, services.UserInput(
            email=email, full_name=full_name, role=Role(role), phone=phone, region_id=region_id,
            outlet_code=outlet_code, password=password or None))
    except Invalid as e:
        lines = [f"{f or 'input'}: {m}" for f, ms in e.reasons.items() for m in ms]
        raise click.ClickException("; ".join(lines)) from None
    click.echo(f"created {user.role.value} {user.email or user.phone} (id {user.id})")
    if _token:
        click.echo("no password given: set-up link token issued (see the user's page)")


@user_cli.command("reset-2fa")
@click.argument("email")
def user_reset_2fa(email: str) -> None:
    """Remove a staff member's second factor (they enrol again at their next sign-in; their sessions end).
    For the operator when no admin can sign in (e.g. after LMS_SECRET_KEY changed)."""
    from .people import services, twofactor
    from .permissions import SYSTEM

    user = services.get_user_by_email(email)
    if user is None:
        raise click.ClickException(f"no user with e-mail {email!r}")
    if not twofactor.offered(user):
        raise click.ClickException(f"{email} has no second factor (trainees are not offered one)")
    twofactor.admin_reset(SYSTEM, user, None)
    click.echo(f"second factor of {user.email} reset; they enrol again at their next sign-in")


@click.command("seed-demo")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="The day the current cohort is dated from (default: today in WIB).")
def seed_demo(today: datetime | None = None) -> None:
    """Build the demo: the 2018 DKI Jakarta programme as history and a current cohort alive today.
    Running it twice changes nothing."""
    from .seed import DEMO_PASSWORD, seed_all

    from . import outbox

    with outbox.muted():  # loading history tells nobody anything
        report = seed_all(today.date() if today else None)
    if report.created:
        click.echo("created: " + ", ".join(f"{n} {k}" for k, n in sorted(report.created.items())))
    else:
        click.echo("demo data already present; nothing changed")
    click.echo(f"demo logins (password for all: {DEMO_PASSWORD}):")
    for role, email, where in report.logins:
        click.echo(f"  {role:<12} {email:<45} {where}")


@click.command("seed-if-empty")
def seed_if_empty() -> None:
    """Seed the demo data only when the database has no users (used by make run)."""
    from .seed import is_empty

    if is_empty():
        ctx = click.get_current_context()
        ctx.invoke(seed_demo)
    else:
        click.echo("database has users; demo seed skipped")


curriculum_cli = AppGroup("curriculum", help="Curriculum files (curricula/*.yaml).")


@curriculum_cli.command("check")
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False))
def curriculum_check(files: tuple[str, ...]) -> None:
    """Validate curriculum FILES (default: every file in curricula/). Names the file, stage and field of each error."""
    from pathlib import Path

    from flask import current_app

    from .programme.curriculum import CurriculumError, load_file

    if not files:
        directory = Path(current_app.config.get("CURRICULA_DIR") or Path(current_app.root_path).parent / "curricula")
        files = tuple(str(p) for p in sorted(directory.glob("*.y*ml")))
    problems: list[str] = []
    for f in files:
        try:
            cur = load_file(f)
        except CurriculumError as e:
            problems.extend(e.problems)
        else:
            click.echo(f"{f}: ok ({cur.key}, {len(cur.stages)} stages, "
                       f"{sum(len(s.milestones) for s in cur.stages)} milestones)")
    problems.extend(_check_questionnaires(files))
    if problems:
        for p in problems:
            click.echo(p, err=True)
        raise SystemExit(1)


def _check_questionnaires(files: tuple[str, ...]) -> list[str]:
    """The feedback forms and knowledge tests (curricula/questionnaires/*.yaml) of the checked curricula."""
    from pathlib import Path

    from .feedback import questions
    from .programme.curriculum import CurriculumError, load_file

    problems: list[str] = []
    for folder in sorted({Path(f).parent for f in files}):
        try:
            found = questions.load_dir(folder / questions.DIRECTORY)
            curricula = {}
            for f in files:
                if Path(f).parent == folder:
                    try:
                        cur = load_file(f)
                    except CurriculumError:
                        continue
                    curricula[cur.key] = cur
            questions.check_references(curricula, found)
        except CurriculumError as e:
            problems.extend(e.problems)
            continue
        for a in found.values():
            size = len(a.scales) if isinstance(a, questions.Questionnaire) else len(a.questions)
            click.echo(f"{a.source}: ok ({a.key}, {a.kind}, {size} {'scales' if a.kind == 'feedback' else 'questions'})")
    return problems


@click.command("bench-data")
@click.option("--managers", type=click.IntRange(min=1), required=True, help="Outlets, each with one manager.")
@click.option("--visits", type=click.IntRange(min=0), required=True, help="Mentor visits over all outlets.")
@click.option("--seed", type=int, default=2025, show_default=True, help="The same seed gives the same data.")
@click.option("--months", type=click.IntRange(1, 120), default=24, show_default=True,
              help="Months of history up to now.")
@click.option("--append", is_flag=True, help="Add to a database that already has outlets.")
def bench_data(managers: int, visits: int, seed: int, months: int, append: bool) -> None:
    """Generate national-scale synthetic data for benchmarks (after `flask db upgrade`)."""
    from .benchdata import PASSWORD, BenchDataError, format_report, generate
    from .extensions import db

    click.echo(f"bench-data: {managers:,} managers, {visits:,} visits, seed {seed}, {months} months "
               f"({db.engine.dialect.name}: {db.engine.url.render_as_string(hide_password=True)})")
    try:
        from . import outbox

        with outbox.muted():
            report = generate(managers, visits, seed=seed, months=months, append=append, echo=click.echo)
    except BenchDataError as e:
        click.echo(f"Error: {e}", err=True)
        raise SystemExit(1) from None
    for line in format_report(report):
        click.echo(line)
    click.echo(f"sign in as admin@bench.example or koordinator.<region code>@bench.example (password {PASSWORD})")


@click.command("backup")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The archive to write (.tar, or .tar.gz to compress; default instance/backups/lms-backup-<time>.tar).")
def backup_command(output: Path | None) -> None:
    """Write ONE archive: the database dump, every stored file and a manifest with counts and checksums."""
    from .backup import BackupError, create_backup

    try:
        result = create_backup(output, progress=click.echo)
    except BackupError as e:
        raise click.ClickException(str(e)) from None
    m = result.manifest
    click.echo(f"backup written: {result.path}")
    click.echo(f"  {m['database']['kind']} database, {len(m['database']['tables'])} tables, {m['database']['rows']} rows; "
               f"{m['storage']['file_count']} files ({m['storage']['bytes']} bytes); revision {m['app']['alembic_revision']}")
    for key in m["storage"]["skipped"]:
        click.echo(f"  skipped (deleted while the backup ran): {key}")
    click.echo(f"  archive {result.size} bytes, sha256 {result.sha256}, {result.seconds:.1f} s")


@click.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--allow-older", is_flag=True,
              help="Accept an archive of an older schema revision (then run `flask --app lms db upgrade`).")
def restore_command(archive: Path, allow_older: bool) -> None:
    """Restore ARCHIVE (from `backup`) into an EMPTY database and EMPTY storage, after verifying its checksums."""
    from .backup import BackupError, restore_backup

    try:
        result = restore_backup(archive, allow_older=allow_older, progress=click.echo)
    except BackupError as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"restored {archive.name} (made {result.manifest['created_at']}) in {result.seconds:.1f} s")
    click.echo(f"  {result.tables_checked} tables: row counts {'match' if result.ok else 'checked'}; "
               f"{result.files_checked} files: checksums {'match' if result.ok else 'checked'}")
    if result.upgrade_needed:
        click.echo("  the archive's schema is older than this code: now run `flask --app lms db upgrade`")
    if not result.ok:
        for line in result.mismatches:
            click.echo(f"  MISMATCH {line}", err=True)
        raise SystemExit(1)


def init_app(app: Flask) -> None:
    app.cli.add_command(backup_command)  # backup [--output PATH]; restore ARCHIVE (lms/backup.py)
    app.cli.add_command(restore_command)
    from .imports.cli import import_cli

    app.cli.add_command(import_cli)  # import outlets FILE: the spreadsheet import's twin
    from .privacy.cli import privacy_cli

    app.cli.add_command(privacy_cli)  # privacy retention [--dry-run]: the scheduled clean-up on demand
    from .api.cli import api_token_cli

    app.cli.add_command(api_token_cli)  # api-token create EMAIL --scope read --days 90 --name NAME; list; revoke
    from .certification.cli import certificates_cli

    app.cli.add_command(certificates_cli)  # certificates dev-keys [--if-missing]: the test signing authority
    from .storage_cli import storage_cli

    app.cli.add_command(storage_cli)  # storage migrate [--to s3://bucket/prefix]: local folders to the object store
    app.cli.add_command(curriculum_cli)
    app.cli.add_command(user_cli)
    app.cli.add_command(seed_demo)
    app.cli.add_command(seed_if_empty)
    app.cli.add_command(bench_data)
