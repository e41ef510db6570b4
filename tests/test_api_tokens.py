"""Personal access tokens: the service (hash only, scopes per role, at most a year), the "Token API"
page (made and shown once, revoked after a confirm page), the CLI, and the audit entries."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from lms.api import tokens
from lms.api.models import ApiToken
from lms.audit.models import AuditEntry
from lms.errors import Invalid, NotAllowed
from lms.permissions import SYSTEM


def test_only_the_hash_and_a_prefix_are_stored(factory, db):
    user = factory.user("mentor")
    new = tokens.create(user, user, name="Laptop", scopes=["read"], days=30)
    assert re.fullmatch(r"lms_[A-Za-z0-9_-]{43}", new.secret)
    row = db.session.get(ApiToken, new.token.id)
    assert row.token_hash == tokens.hash_token(new.secret) and row.prefix == new.secret[:10]
    stored = db.session.execute(sa.text("SELECT * FROM api_tokens")).mappings().one()
    assert new.secret not in " ".join(str(v) for v in stored.values())
    assert tokens.authenticate(new.secret)[0].id == user.id  # type: ignore[index]
    assert tokens.authenticate(new.secret[:-1] + ("A" if new.secret[-1] != "A" else "B")) is None


@pytest.mark.parametrize("role,allowed,refused", [
    ("trainee", {"read", "write:evidence", "write:attendance"}, {"write:visits", "review", "admin"}),
    ("mentor", {"read", "write:evidence", "write:visits", "review"}, {"write:attendance", "admin"}),
    ("coordinator", {"read", "write:evidence", "write:attendance", "review"}, {"write:visits", "admin"}),
    ("admin", {"read", "write:evidence", "write:visits", "write:attendance", "review", "admin"}, set()),
])
def test_scopes_per_role(factory, role, allowed, refused):
    user = factory.user(role)
    assert set(tokens.scopes_for(user)) == allowed
    for scope in refused:
        with pytest.raises(Invalid) as e:
            tokens.create(user, user, name="x", scopes=["read", scope], days=30)
        assert "scopes" in e.value.reasons


def test_read_is_implied_and_limits_hold(factory):
    user = factory.user("admin")
    assert tokens.create(user, user, name="x", scopes=["review"], days=1).token.scopes == ["read", "review"]
    for kw, field in (({"days": 366}, "days"), ({"days": 0}, "days"), ({"name": " "}, "name"),
                      ({"scopes": []}, "scopes"), ({"scopes": ["everything"]}, "scopes"), ({"name": "x" * 81}, "name")):
        args = {"name": "ok", "scopes": ["read"], "days": 30, **kw}
        with pytest.raises(Invalid) as e:
            tokens.create(user, user, **args)
        assert field in e.value.reasons, kw
    with pytest.raises(NotAllowed):  # nobody makes tokens for someone else, but the operator
        tokens.create(factory.user("admin"), user, name="x", scopes=["read"], days=1)
    inactive = factory.user("mentor", active=False)
    with pytest.raises(NotAllowed):
        tokens.create(SYSTEM, inactive, name="x", scopes=["read"], days=1)


def test_made_and_revoked_tokens_are_audited(factory, db):
    user = factory.user("coordinator")
    new = tokens.create(user, user, name="Portal", scopes=["read"], days=90, ip="10.0.0.1")
    tokens.revoke(user, new.token, ip="10.0.0.1")
    rows = db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id)).all()
    made, gone = [r for r in rows if r.action.startswith("api_token.")]
    assert made.action == "api_token.created" and made.actor_id == user.id and made.target_id == str(new.token.id)
    assert made.details["scopes"] == ["read"] and made.details["prefix"] == new.secret[:10]
    assert new.secret not in str(made.details)
    assert gone.action == "api_token.revoked" and gone.target_type == "api_token"


# --- the page -----------------------------------------------------------------------------------------

def test_the_page_makes_a_token_shows_it_once_and_revokes_it_after_confirming(client, factory, login_as, db):
    user = login_as("trainee")
    page = client.get("/akun/token-api")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'value="write:visits"' not in html and 'value="read"' in html  # the trainee's scopes only
    resp = client.form_post("/akun/token-api", {"name": "Spreadsheet", "scopes": ["read"], "days": "30"})
    assert resp.status_code == 200
    assert resp.headers["Cache-Control"] == "no-store"
    secret = re.search(r'value="(lms_[^"]+)"', resp.get_data(as_text=True))[1]  # type: ignore[index]
    assert tokens.authenticate(secret)[0].id == user.id  # type: ignore[index]
    listing = client.get("/akun/token-api").get_data(as_text=True)
    assert "Spreadsheet" in listing and secret[:10] in listing and secret not in listing
    token = tokens.tokens_of(user)[0]
    # first POST: the confirm page; nothing revoked yet
    first = client.form_post(f"/akun/token-api/{token.id}/cabut")
    assert first.status_code == 200 and 'name="confirmed"' in first.get_data(as_text=True)
    assert tokens.authenticate(secret) is not None
    done = client.form_post(f"/akun/token-api/{token.id}/cabut", {"confirmed": "1"})
    assert done.status_code == 302
    assert tokens.authenticate(secret) is None
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401


def test_the_page_refuses_a_scope_the_role_may_not_give_and_someone_elses_token(client, factory, login_as):
    other = factory.user("admin")
    theirs = tokens.create(other, other, name="Milik orang lain", scopes=["read"], days=30)
    login_as("mentor")
    resp = client.form_post("/akun/token-api", {"name": "x", "scopes": ["admin"], "days": "30"})
    assert resp.status_code == 422
    assert client.form_post(f"/akun/token-api/{theirs.token.id}/cabut", {"confirmed": "1"}).status_code == 404
    assert tokens.authenticate(theirs.secret) is not None
    assert client.form_post("/akun/token-api", {"name": "x", "scopes": ["read"], "days": "400"}).status_code == 422


def test_the_form_needs_its_csrf_token(client, login_as):
    login_as("mentor")
    resp = client.post("/akun/token-api", data={"name": "x", "scopes": ["read"], "days": "30"})
    assert resp.status_code in (400, 422)
    assert "lms_" not in resp.get_data(as_text=True)


# --- the CLI ---------------------------------------------------------------------------------------------

def test_cli_creates_lists_and_revokes(app, factory, client):
    user = factory.user("coordinator", email="koordinator.api@uji.example")
    runner = app.test_cli_runner()
    res = runner.invoke(args=["api-token", "create", "koordinator.api@uji.example", "--scope", "read",
                              "--scope", "write:attendance", "--days", "90", "--name", "Portal Satu Data"])
    assert res.exit_code == 0, res.output
    secret = res.stdout.strip().splitlines()[0]
    assert secret.startswith("lms_")
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).get_json()["scopes"] == \
        ["read", "write:attendance"]
    listed = runner.invoke(args=["api-token", "list", "koordinator.api@uji.example"])
    assert listed.exit_code == 0 and secret[:10] in listed.output and secret not in listed.output
    token_id = tokens.tokens_of(user)[0].id
    gone = runner.invoke(args=["api-token", "revoke", str(token_id)])
    assert gone.exit_code == 0 and "revoked" in gone.output
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    bad = runner.invoke(args=["api-token", "create", "koordinator.api@uji.example", "--scope", "admin", "--name", "x"])
    assert bad.exit_code != 0 and "scopes" in bad.output
    assert runner.invoke(args=["api-token", "create", "nobody@uji.example", "--name", "x"]).exit_code != 0
