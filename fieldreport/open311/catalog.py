"""Categories as Open311 services: the service list, definitions, and attribute form fields."""

from __future__ import annotations

from werkzeug.datastructures import MultiDict

from fieldreport.errors import Invalid, NotFound, Unprocessable
from fieldreport.models import Category
from fieldreport.open311 import params
from fieldreport.services import categories


def all_services() -> list[Category]:
    return categories.public_categories()


def service(code: str | None) -> Category:
    """The active public category with this service_code: 400 when absent, 404 when unknown."""
    if not code:
        raise Invalid("service_code_missing", "service_code is required.", "Thiếu service_code.")
    cat = categories.public_category(code)
    if cat is None:
        raise NotFound(
            "service_not_found", f"service_code {code!r} was not found.", f"Không tìm thấy service_code {code!r}."
        )
    return cat


def service_row(cat: Category, vi: bool) -> dict:
    name = cat.name_vi if vi else cat.name_en
    return {
        "service_code": cat.code,
        "service_name": name,
        "description": (cat.description_vi if vi else cat.description_en) or name,
        "metadata": bool(categories.attributes(cat)),
        "type": "realtime",
        "keywords": cat.keywords or "",  # the spec's JSON has a string, never null
        "group": cat.group,
    }


def form_attributes(cat: Category, form: MultiDict) -> dict:
    """`attribute[...]` fields shaped for intake, which checks them against the definition.

    Empty values are dropped: the spec treats an empty optional argument as an absent one.
    Codes the service does not define are ignored: clients send attributes of other servers'
    definitions, and the spec's answer to extra arguments is to ignore them.
    """
    kinds = {str(a["code"]): a["datatype"] for a in categories.attributes(cat)}
    out: dict = {}
    for code, values in params.attributes(form).items():
        values = [v.strip() for v in values if v and v.strip()]
        if not values or code not in kinds:
            continue
        if kinds.get(code) == "multivaluelist":
            out[code] = list(dict.fromkeys(values))
        elif len(values) > 1:
            raise Unprocessable(
                "invalid_attribute", f"attribute[{code}] takes one value.", f"attribute[{code}] chỉ nhận một giá trị."
            )
        else:
            out[code] = values[0]
    return out
