"""Marshmallow schemas of the indicators, their exports and the calendar days."""

from marshmallow import RAISE, Schema, fields, validate, validates_schema
from webargs.fields import DelimitedList

from fieldreport.api.reports.schemas import Str
from fieldreport.services.indicators import GROUPS, PERIODS
from fieldreport.services.indicators.periods import check_dates


class IndicatorQuerySchema(Schema):
    class Meta:
        unknown = RAISE  # an undeclared query parameter is a 422, not ignored (api/parsing.py)

    period = fields.String(
        load_default="month",
        validate=validate.OneOf(PERIODS),
        metadata={
            "description": "day, week, month, quarter, year (the one containing `from`, default today) or custom"
        },
    )
    from_ = fields.Date(
        data_key="from", load_default=None, metadata={"description": "a day of the period; first day of a custom one"}
    )
    to = fields.Date(
        load_default=None,
        metadata={
            "description": "last day (inclusive) of a custom period: only with period=custom (400 to_needs_custom "
            "otherwise), which needs both from and to (400 custom_period_needs_dates), not before from "
            "(422 bad_period_range), at most 3 years after it (400 period_too_long)"
        },
    )
    group_by = fields.String(load_default="unit", validate=validate.OneOf(GROUPS))
    unit = fields.String(
        load_default=None,
        validate=validate.Length(max=40),
        metadata={"description": "unit code: that unit and its subtree"},
    )
    area = fields.String(
        load_default=None,
        validate=validate.Length(max=16),
        metadata={"description": "commune code, or P<province code>"},
    )
    category = DelimitedList(
        Str(validate=validate.Length(max=40)),  # Str: no NUL reaches SQL
        metadata={"description": "category codes, comma-separated"},
    )
    depth = fields.Integer(
        load_default=1,
        validate=validate.Range(0, 20),
        metadata={"description": "group_by=unit: levels below the scope's top units"},
    )

    @validates_schema
    def _dates(self, data, **kwargs):
        # Between fields: a rule OpenAPI 3.0 parameters cannot state, so `to`'s description says
        # it and the refusal is the domain's own code (not a validation_error the document denies).
        check_dates(data.get("period", "month"), data.get("from_"), data.get("to"))


class ExportQuerySchema(IndicatorQuerySchema):
    detail = fields.String(
        load_default="groups",
        validate=validate.OneOf(("groups", "reports")),
        metadata={"description": "groups: the indicator table; reports: one row per report and unit of the period"},
    )
    lang = fields.String(
        load_default=None,
        validate=validate.OneOf(("vi", "en")),
        metadata={"description": "column headers: vi (default, or by Accept-Language) or en (stable machine names)"},
    )


class StatsSchema(Schema):
    mean = fields.Float(allow_none=True)
    median = fields.Float(allow_none=True)
    p90 = fields.Float(allow_none=True)


class TimesSchema(Schema):
    count = fields.Integer()
    working_hours = fields.Nested(StatsSchema)
    calendar_hours = fields.Nested(StatsSchema)


class SatisfactionSchema(Schema):
    rate = fields.Float(allow_none=True, metadata={"description": "null means n/a"})
    answered = fields.Integer()
    dissatisfied = fields.Integer()
    answered_late = fields.Integer()
    reopened = fields.Integer()
    rated = fields.Integer()
    ratings = fields.Dict(keys=fields.String(), values=fields.Integer())
    mean_rating = fields.Float(allow_none=True)


class IndicatorsSchema(Schema):
    received = fields.Integer(metadata={"description": "reports received in the period, handed on or not"})
    reports = fields.Integer(metadata={"description": "reports of the period (the denominator)"})
    on_time = fields.Integer()
    late = fields.Integer()
    on_time_rate = fields.Float(allow_none=True)
    late_rate = fields.Float(allow_none=True)
    answered = fields.Integer()
    resolved = fields.Integer()
    rejected = fields.Integer()
    backlog = fields.Integer()
    overdue_backlog = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        metadata={"description": "working days overdue: 0-2, 3-5, 6-10, >10"},
    )
    handling_time = fields.Nested(TimesSchema)
    first_response = fields.Nested(TimesSchema)
    satisfaction = fields.Nested(SatisfactionSchema)
    transfers = fields.Integer()
    transfers_per_report = fields.Float(allow_none=True)
    auto_routed = fields.Integer()
    auto_routed_share = fields.Float(allow_none=True)


class IndicatorRowSchema(IndicatorsSchema):
    unit = fields.Dict(metadata={"description": "id, code, name, kind, parent_code, depth"})
    area = fields.Dict(metadata={"description": "id, code, name"})
    category = fields.Dict(metadata={"description": "id, code, name_vi, name_en"})
    channel = fields.String(
        metadata={"description": "group_by=channel: app, web, hotline, counter, zalo or open311:<client>"}
    )


class IndicatorTableSchema(Schema):
    period = fields.Dict(metadata={"description": "kind, from, to, as_of (the moment T)"})
    group_by = fields.String()
    total = fields.Nested(IndicatorsSchema)
    rows = fields.List(fields.Nested(IndicatorRowSchema))


class ExportJobSchema(Schema):
    id = fields.String()
    status = fields.String(metadata={"description": "queued, started, finished, failed"})
    progress = fields.Float(metadata={"description": "0 to 1"})
    rows = fields.Integer()
    format = fields.String()
    status_url = fields.String()
    download_url = fields.String(metadata={"description": "presigned link, once finished"})
    error = fields.String()


class CalendarDaySchema(Schema):
    day = fields.Date(required=True)
    kind = fields.String(
        required=True,
        validate=validate.OneOf(("off", "work")),
        metadata={"description": "off: an extra day off (swap); work: a make-up working day"},
    )
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    province = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=8),
        metadata={"description": "a province's own day (several provinces in one deployment); none: every province"},
    )


class CalendarDayUpdateSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(("off", "work")))
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))


class CalendarYearQuerySchema(Schema):
    class Meta:
        unknown = RAISE  # an undeclared query parameter is a 422, not ignored (api/parsing.py)

    year = fields.Integer(load_default=None, validate=validate.Range(2000, 2100))
    province = fields.String(
        load_default=None, validate=validate.Length(max=8), metadata={"description": "also this province's own days"}
    )


class CalendarProvinceQuerySchema(Schema):
    class Meta:
        unknown = RAISE  # an undeclared query parameter is a 422, not ignored (api/parsing.py)

    province = fields.String(
        load_default=None, validate=validate.Length(max=8), metadata={"description": "the province whose own day it is"}
    )


class CalendarDayViewSchema(CalendarDaySchema):
    weekday = fields.Integer(metadata={"description": "0 = Monday"})
    holiday = fields.String(allow_none=True, metadata={"description": "statutory holiday that day, if any"})
