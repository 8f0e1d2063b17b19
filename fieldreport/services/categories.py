"""The categories citizens may choose and their questions (Open311 service-definition attributes)."""

from __future__ import annotations

from sqlalchemy import select

from fieldreport.extensions import db
from fieldreport.models import Category

DATATYPES = ("string", "number", "datetime", "text", "singlevaluelist", "multivaluelist")
LIST_TYPES = ("singlevaluelist", "multivaluelist")


def _public():
    return select(Category).where(Category.active, Category.public)


def public_categories() -> list[Category]:
    """The active public categories in their display order: the one list the API, Open311's
    services, the citizen form and the public map's filter show."""
    return list(db.session.scalars(_public().order_by(Category.sort_order, Category.code)))


def public_category(code: str) -> Category | None:
    """One of public_categories() by its code."""
    return db.session.scalar(_public().where(Category.code == code))


def every_category(*, active: bool | None = None) -> list[Category]:
    """Every category in display order, public or not (staff pick and filter by them too);
    `active=True`: only those a new report may be filed under."""
    q = select(Category)
    if active is not None:
        q = q.where(Category.active == active)
    return list(db.session.scalars(q.order_by(Category.sort_order, Category.code)))


def attributes(cat: Category) -> list[dict]:
    """The category's attributes in presentation order, with the spec's defaults filled in."""
    attrs = [dict(a) for a in (cat.attributes or []) if a.get("code")]
    for i, a in enumerate(attrs, start=1):
        a.setdefault("order", i)
        if a.get("datatype") not in DATATYPES:
            a["datatype"] = "string"
    return sorted(attrs, key=lambda a: (a["order"], a["code"]))


def definition(cat: Category) -> dict:
    """The Open311 service definition: what the category asks, as every client sees it."""
    rows = []
    for a in attributes(cat):
        row = {
            "variable": bool(a.get("variable", True)),
            "code": str(a["code"]),
            "datatype": a["datatype"],
            "required": bool(a.get("required", False)),
            "datatype_description": a.get("datatype_description"),
            "order": int(a["order"]),
            "description": a.get("description") or str(a["code"]),
        }
        if a["datatype"] in LIST_TYPES:
            row["values"] = [
                {"key": str(v["key"]), "name": str(v.get("name", v["key"]))} for v in a.get("values") or []
            ]
        rows.append(row)
    return {"service_code": cat.code, "attributes": rows}
