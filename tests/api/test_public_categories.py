"""One list of public categories (services.categories.public_categories) behind every place a
citizen or a client chooses one: the API, Open311's services, the public map's filter."""

from __future__ import annotations

import re

from sqlalchemy import select

from fieldreport.models import Category


def listed(client) -> dict[str, list[str]]:
    page = client.get("/public/").get_data(as_text=True)
    select_ = page[page.index('name="category"') :]
    return {
        "api": [c["code"] for c in client.get("/api/v1/categories").json],
        "open311": [s["service_code"] for s in client.get("/open311/v2/services.json").json],
        "map": re.findall(r'<option value="([a-z_]+)"', select_[: select_.index("</select>")]),
    }


def test_every_list_is_the_same_and_follows_a_category_edit(client, db_session):
    before = listed(client)
    assert before["api"] == before["open311"] == before["map"] and len(before["api"]) == 13
    hidden = db_session.scalar(select(Category).where(Category.code == before["api"][0]))
    hidden.public = False
    db_session.flush()
    after = listed(client)
    assert after["api"] == after["open311"] == after["map"] == before["api"][1:]
    r = client.get(f"/open311/v2/services/{hidden.code}.json")
    assert r.status_code == 404
