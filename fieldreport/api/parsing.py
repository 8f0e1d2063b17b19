"""The one argument parser and Blueprint of every /api/v1 resource.

webargs drops query parameters no schema field declares (it loads the query string with
`unknown=EXCLUDE`, whatever the schema says), so a misspelt filter (`?stauts=new`) silently
answered the unfiltered list. Here a query schema's own `Meta.unknown` decides, and the query
schemas of /api/v1 keep marshmallow's default, RAISE: an undeclared query parameter is a 422
`validation_error` naming it in `errors.query` (no page script sends one; the OpenAPI document
says so in its description). Headers stay EXCLUDE (every request carries undeclared ones), and
Open311 has its own lenient parsing (open311/params.py), as GeoReport v2 asks.
"""

from __future__ import annotations

import flask_smorest
from webargs.flaskparser import FlaskParser


class Parser(FlaskParser):
    DEFAULT_UNKNOWN_BY_LOCATION = {  # noqa: RUF012 (webargs' own class attribute)
        **FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION,
        "query": None,  # None: the schema's Meta.unknown (marshmallow's default: RAISE)
        "querystring": None,
    }


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = Parser()
