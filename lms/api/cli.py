"""``flask --app lms api-token …``: make, list and revoke personal access tokens (lms/api/tokens.py)."""
from __future__ import annotations

import click
from flask.cli import AppGroup

api_token_cli = AppGroup("api-token", help="Personal access tokens for the JSON API (/api/v1).")


def _owner(email: str):  # type: ignore[no-untyped-def]
    from . import tokens

    user = tokens.owner_by_email(email)
    if user is None:
        raise click.ClickException(f"no user with the e-mail {email!r}")
    return user


@api_token_cli.command("create")
@click.argument("email")
@click.option("--name", required=True, help="What the token is for, e.g. \"Portal Satu Data\".")
@click.option("--scope", "scopes", multiple=True, default=("read",), show_default=True,
              help="A scope (repeat): read, write:evidence, write:visits, write:attendance, review, admin.")
@click.option("--days", type=int, default=90, show_default=True, help="Days until it expires (1-365).")
def create(email: str, name: str, scopes: tuple[str, ...], days: int) -> None:
    """Make a token for the user with EMAIL and print it (once: only its hash is kept)."""
    from ..errors import Invalid, NotAllowed
    from ..permissions import SYSTEM
    from . import tokens

    user = _owner(email)
    try:
        new = tokens.create(SYSTEM, user, name=name, scopes=scopes, days=days, source="cli")
    except NotAllowed:
        raise click.ClickException(f"{email} may not have API tokens (inactive?)") from None
    except Invalid as e:
        raise click.ClickException("; ".join(f"{f or 'input'}: {m}" for f, ms in e.reasons.items() for m in ms)) from None
    click.echo(new.secret)
    click.echo(f"token {new.token.id} for {email}: scopes {' '.join(new.token.scopes)}, expires "
               f"{new.token.expires_at:%Y-%m-%d %H:%M} UTC. It is shown only now.", err=True)


@api_token_cli.command("list")
@click.argument("email")
def list_tokens(email: str) -> None:
    """List the tokens of the user with EMAIL (never the secrets)."""
    from . import tokens

    user = _owner(email)
    rows = tokens.tokens_of(user)
    if not rows:
        click.echo("no tokens")
    for t in rows:
        used = f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never"
        click.echo(f"{t.id}\t{t.prefix}…\t{tokens.state(t)}\t{','.join(t.scopes)}\texpires {t.expires_at:%Y-%m-%d}"
                   f"\tlast used {used}\t{t.name}")


@api_token_cli.command("revoke")
@click.argument("token_id", type=int)
def revoke(token_id: int) -> None:
    """Revoke the token with TOKEN_ID (see `api-token list`)."""
    from ..extensions import db
    from ..permissions import SYSTEM
    from . import tokens
    from .models import ApiToken

    token = db.session.get(ApiToken, token_id) if 0 < token_id < 2**31 else None
    if token is None:
        raise click.ClickException(f"no token {token_id}")
    if tokens.revoke(SYSTEM, token, source="cli"):
        click.echo(f"revoked token {token_id} ({token.prefix}…)")
    else:
        click.echo(f"token {token_id} was revoked already")
