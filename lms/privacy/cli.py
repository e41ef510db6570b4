"""``flask --app lms privacy retention [--dry-run]``: the retention rules on demand (cron without
the in-process worker, or to see what the next run would do)."""
from __future__ import annotations

import click
from flask.cli import AppGroup

privacy_cli = AppGroup("privacy", help="Personal data (UU PDP): retention.")

#: the report's lines in English (the operator's console), by counter key
COUNTER_NAMES = {
    "codes.setup_links": "set-up links deleted",
    "codes.sign_in_codes": "one-time sign-in codes deleted",
    "codes.recovery_codes": "used recovery codes deleted",
    "failures.login_failures": "failed sign-ins deleted",
    "failures.second_factor_failures": "wrong second-factor codes deleted",
    "ip.audit_log": "addresses hashed in audit_log",
    "ip.login_failures": "addresses hashed in login_failures",
    "ip.sign_in_codes": "addresses hashed in sign_in_codes",
    "ip.user_sessions": "addresses hashed in user_sessions",
    "ip.second_factor_failures": "addresses hashed in second_factor_failures",
    "deliveries.bodies": "message texts blanked",
    "webhooks.deliveries": "webhook deliveries deleted",
    "exports.files": "expired \"Data saya\" files deleted",
}


@privacy_cli.command("retention")
@click.option("--dry-run", is_flag=True, help="Count what the rules would do; change nothing.")
def retention_command(dry_run: bool) -> None:
    """Apply the retention rules (idempotent) and print what was done per rule."""
    from ..permissions import SYSTEM
    from . import retention

    report = retention.run_retention(SYSTEM, dry_run=dry_run)
    click.echo("retention: dry run, nothing changed" if dry_run else "retention: done")
    for key, _rule, _table in retention.COUNTERS:
        click.echo(f"  {COUNTER_NAMES[key]}: {report.counts.get(key, 0)}")
    years = retention.period(retention.rule("inactive"))
    click.echo(f"  accounts without a sign-in for {years} years (for review, not changed): {report.inactive}")
    click.echo(f"total: {report.changed} rows {'to change' if dry_run else 'changed'}")
