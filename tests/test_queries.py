"""List pages cost a fixed number of SQL statements, whatever the number of rows."""
from __future__ import annotations

import pytest

from tests.factories import Factory


def _users(factory: Factory, n: int) -> None:
    regions = ("3171", "3172", "3173", "3174", "3175")
    for i in range(n):
        region = regions[i % 5]
        # trainees bring an outlet, mentors a region: both are shown in the list
        factory.user("trainee" if i % 2 else "mentor", region=region)


def _outlets(factory: Factory, n: int) -> None:
    regions = ("3171", "3172", "3173", "3174", "3175")
    for i in range(n):
        if i % 2:
            factory.user("trainee", region=regions[i % 5])  # an outlet with a manager
        else:
            factory.outlet(regions[i % 5])  # one without


def _page_rows(html: str, prefix: str) -> int:
    return html.count(f'<a href="{prefix}')


@pytest.mark.parametrize("role,region", [("coordinator", None), ("admin", None)])
@pytest.mark.parametrize("page,make,prefix", [("/users", _users, "/users/"), ("/outlets", _outlets, "/outlets/")])
def test_list_queries_do_not_grow_with_rows(client, factory, login_as, count_queries, app, role, region, page, make,
                                            prefix):
    app.config["PAGE_SIZE"] = 100  # every row on one page, so each one is rendered
    login_as(role, region=region)
    make(factory, 5)
    client.get(page)  # warm up
    with count_queries() as small:
        html = client.get(page).get_data(as_text=True)
    small_rows = _page_rows(html, prefix)
    make(factory, 55)
    with count_queries() as big:
        html = client.get(page).get_data(as_text=True)
    big_rows = _page_rows(html, prefix)
    assert big_rows - small_rows >= 55, (small_rows, big_rows)
    assert big.count == small.count, (small.count, big.count, big.statements)
    assert small.count <= 12, small.statements
