def test_healthz(client):
    r = client.get("/healthz")
    assert r.status_code == 200
    assert client.get("/readyz").json["checks"]["database"] == "ok"


def test_login_page(client):
    r = client.get("/login")
    assert r.status_code == 200
    assert 'name="email"' in r.get_data(as_text=True)


def test_login_as_each_role(client, login_as):
    for role in ("trainee", "mentor", "coordinator", "admin"):
        login_as(role)
        r = client.get("/home")
        assert r.status_code == 200, r.get_data(as_text=True)[:2000]
        client.form_post("/logout")
