"""``flask --app lms certificates …``: the signing key's test authority."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

certificates_cli = AppGroup("certificates", help="Certificate PDFs: their signing key.")


@certificates_cli.command("dev-keys")
@click.option("--if-missing", is_flag=True,
              help="Do nothing when LMS_SIGNING_P12 is set or the test authority exists (make run).")
@click.option("--force", is_flag=True, help="Replace an existing test authority.")
def dev_keys(if_missing: bool, force: bool) -> None:
    """Make a local TEST certificate authority and a signer certificate for certificate PDFs.

    Writes instance/signing/dev-signer.p12 (the key and its chain, used when LMS_SIGNING_P12 is unset)
    and instance/signing/dev-ca.pem (the test CA, to trust it in a PDF reader). Not for production:
    there, LMS_SIGNING_P12 names the key from the agency's certificate authority."""
    from . import signing

    folder = signing.dev_dir()
    p12 = folder / signing.DEV_P12
    if current_app.config.get("SIGNING_P12"):
        if if_missing:
            click.echo("LMS_SIGNING_P12 is set: certificates are signed with it; no test authority made")
            return
        click.echo("note: LMS_SIGNING_P12 is set, so the app signs with that key, not with this test authority")
    if p12.exists() and not force:
        if if_missing:
            click.echo(f"test signing authority present: {p12}")
            return
        raise click.ClickException(f"{p12} exists; --force replaces it (PDFs signed before then stay signed "
                                   "by the old test authority)")
    password = current_app.config.get("SIGNING_P12_PASSWORD") or None
    p12, ca = signing.make_dev_keys(folder, password)
    click.echo(f"test signing authority made: {signing.DEV_CA_NAME}")
    click.echo(f"  signer key and chain: {p12}")
    click.echo(f"  CA certificate:       {ca}")
    click.echo("  NOT FOR PRODUCTION: set LMS_SIGNING_P12 to the agency's PKCS#12 file there.")
