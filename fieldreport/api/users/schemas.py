"""Marshmallow schemas of staff accounts managed by administrators (passwords load only)."""

from marshmallow import RAISE, Schema, fields
from marshmallow.validate import Length, OneOf, Range, Regexp

from fieldreport.api.reports.schemas import Str
from fieldreport.services.accounts import STAFF_ACCOUNT_ROLES

REASON = {"description": "why (kept in the audit log with who and when)"}


class AccountSchema(Schema):
    id = fields.Integer()
    username = fields.String()
    full_name = fields.String()
    role = fields.String()
    unit_code = fields.String(allow_none=True)
    active = fields.Boolean()
    last_login_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()


class AccountPageSchema(Schema):
    items = fields.List(fields.Nested(AccountSchema))
    page = fields.Integer()
    page_size = fields.Integer()
    total = fields.Integer()


class AccountQuerySchema(Schema):
    class Meta:
        unknown = RAISE  # a misspelt filter is an error, not "everyone" (api/parsing.py)

    q = Str(load_default=None, validate=Length(max=80), metadata={"description": "part of the username or name"})
    active = fields.Boolean(load_default=None)
    page = fields.Integer(load_default=1, validate=Range(1, 100_000))
    page_size = fields.Integer(load_default=50, validate=Range(1, 200))


class AccountCreateSchema(Schema):
    username = Str(
        required=True,
        validate=Regexp(
            r"^[a-z0-9][a-z0-9._-]{2,79}$",
            error=("3–80 lower-case letters, digits, '.', '_' or '-' / 3–80 chữ thường, chữ số, '.', '_' hoặc '-'"),
        ),
    )
    full_name = Str(required=True, validate=Length(1, 200))
    role = Str(required=True, validate=OneOf(STAFF_ACCOUNT_ROLES))
    unit_code = Str(load_default=None, validate=Length(1, 40))
    password = Str(
        required=True,
        validate=Length(1, 200),
        load_only=True,
        metadata={"description": "at least 10 characters; give it to the person, who should change it"},
    )
    reason = Str(load_default=None, validate=Length(max=500), metadata=REASON)


class PasswordResetSchema(Schema):
    password = Str(
        required=True,
        validate=Length(1, 200),
        load_only=True,
        metadata={"description": "at least 10 characters; every session of the user ends"},
    )
    reason = Str(load_default=None, validate=Length(max=500), metadata=REASON)


class AccountReasonSchema(Schema):
    reason = Str(load_default=None, validate=Length(max=500), metadata=REASON)


class AccountActSchema(Schema):
    at = fields.DateTime()
    actor = fields.String(metadata={"description": "<role>:<username> of the admin, or cli:<system user>"})
    action = fields.String(
        metadata={
            "description": "account.create | account.update | account.deactivate "
            "| account.reactivate | account.password_reset"
        }
    )
    username = fields.String(metadata={"description": "the account acted on"})
    detail = fields.String(allow_none=True)
    reason = fields.String()


class AccountActPageSchema(Schema):
    items = fields.List(fields.Nested(AccountActSchema))
    page = fields.Integer()
    page_size = fields.Integer()
    total = fields.Integer()


class PageQuerySchema(Schema):
    class Meta:
        unknown = RAISE  # an undeclared query parameter is a 422, not ignored (api/parsing.py)

    page = fields.Integer(load_default=1, validate=Range(1, 100_000))
    page_size = fields.Integer(load_default=50, validate=Range(1, 200))
