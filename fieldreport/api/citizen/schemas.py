"""Marshmallow schemas of citizen phone sign-in."""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields
from marshmallow.validate import Length, OneOf, Regexp

from fieldreport.api.reports.schemas import CITIZEN_TOKEN, Str
from fieldreport.models import Channel

TOKENS = fields.List(
    Str(validate=CITIZEN_TOKEN),
    validate=Length(max=100),
    metadata={"description": "citizen tokens this device holds: their reports become the account's"},
)


class OtpRequestSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    phone = Str(
        required=True,
        validate=Length(1, 40),
        metadata={"description": "Vietnamese mobile number: 09xxxxxxxx, +849xxxxxxxx"},
    )


class OtpSentSchema(Schema):
    sent = fields.Boolean()
    expires_in = fields.Integer(metadata={"description": "seconds the code stays valid"})
    resend_after = fields.Integer(metadata={"description": "seconds before a new code may be asked"})


class SessionRequestSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    phone = Str(required=True, validate=Length(1, 40))
    code = Str(required=True, validate=Regexp(r"^\s*\d{6}\s*$", error="The code has 6 digits."))
    citizen_tokens = TOKENS


class CitizenSchema(Schema):
    phone = fields.String()
    identity_level = fields.String(metadata={"description": "phone: proved by a one-time code"})


class SessionSchema(Schema):
    access_token = fields.String(metadata={"description": "send as `Authorization: Bearer <token>`"})
    token_type = fields.String()
    expires_at = fields.DateTime()
    citizen = fields.Nested(CitizenSchema)
    claimed = fields.List(fields.String(), metadata={"description": "codes of the reports claimed"})


class ClaimSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    citizen_tokens = fields.List(Str(validate=CITIZEN_TOKEN), required=True, validate=Length(1, 100))


class ClaimedSchema(Schema):
    claimed = fields.List(fields.String())


class PushKeySchema(Schema):
    public_key = fields.String(metadata={"description": "VAPID applicationServerKey (base64url)"})


class PushKeysSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    p256dh = Str(required=True, validate=Length(1, 200))
    auth = Str(required=True, validate=Length(1, 100))


class SubscribeSchema(Schema):
    """What PushSubscription.toJSON() gives (endpoint, keys) for push, an address for e-mail."""

    class Meta:
        unknown = EXCLUDE

    channel = Str(required=True, validate=OneOf((Channel.PUSH, Channel.SMS, Channel.EMAIL)))
    endpoint = Str(validate=Length(1, 1000), metadata={"description": "push: the subscription's endpoint"})
    keys = fields.Nested(PushKeysSchema, metadata={"description": "push: the subscription's keys"})
    email = Str(validate=Length(1, 240), metadata={"description": "email: where to write"})
    citizen_token = Str(
        validate=CITIZEN_TOKEN, metadata={"description": "or X-Citizen-Token: subscribe as the reporter"}
    )


class SubscriptionSchema(Schema):
    id = fields.Integer()
    channel = fields.String()
    role = fields.String(metadata={"description": "reporter | follower"})
    active = fields.Boolean()
    address = fields.String(metadata={"description": "masked for SMS and e-mail; omitted for push"})
    unsubscribe_token = fields.String(
        metadata={"description": "POST /subscriptions/{token}/unsubscribe stops this subscription"}
    )


class ChannelSwitchSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    active = fields.Boolean(required=True)
