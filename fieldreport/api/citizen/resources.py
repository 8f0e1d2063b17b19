"""Citizen phone sign-in (/citizen/*, /me/claims) and notification subscriptions (/push/key, .../subscriptions)."""

from __future__ import annotations

from flask import request
from flask.views import MethodView

from fieldreport import auth
from fieldreport.api.citizen.schemas import (
    ChannelSwitchSchema,
    CitizenSchema,
    ClaimedSchema,
    ClaimSchema,
    OtpRequestSchema,
    OtpSentSchema,
    PushKeySchema,
    SessionRequestSchema,
    SessionSchema,
    SubscribeSchema,
    SubscriptionSchema,
)
from fieldreport.api.parsing import Blueprint
from fieldreport.api.reports.schemas import CitizenTokenHeaderSchema
from fieldreport.errors import Forbidden, wants_vietnamese
from fieldreport.models import Channel, Subscription, User
from fieldreport.services import accounts, citizen_accounts, intake, push, sms, subscriptions

blp = Blueprint(
    "citizen",
    __name__,
    description=(
        "Citizens sign in with their phone number: POST /citizen/otp sends a 6-digit code by SMS, "
        "POST /citizen/session exchanges it for a bearer session (valid CITIZEN_SESSION_DAYS) and "
        "claims the reports this device proves with their citizen tokens. Answers are the same "
        "whether the phone is known. Notifications: subscribe to a report's news per channel (Web "
        "Push, SMS to the signed-in phone, e-mail); the reporter's e-mail and signed-in phone are on "
        "by default; every subscription has its own unsubscribe token."
    ),
)
BEARER: list[dict] = [{"bearer": []}]


def _client() -> str:
    return intake.client_key(request.remote_addr or "")


def _citizen() -> User:
    user = auth.require_user()
    if user.role != citizen_accounts.CITIZEN_ROLE:
        raise Forbidden(
            "citizen_only",
            "Only a citizen signed in by phone can do this.",
            "Chỉ công dân đăng nhập bằng số điện thoại mới thực hiện được.",
        )
    return user


@blp.route("/citizen/otp")
class Otp(MethodView):
    @blp.arguments(OtpRequestSchema)
    @blp.response(202, OtpSentSchema)
    def post(self, body):
        """Send a one-time sign-in code by SMS to a Vietnamese mobile number"""
        sent = citizen_accounts.request_code(body["phone"], _client())
        return {"sent": True, "expires_in": sent.expires_in, "resend_after": sent.resend_after}


@blp.route("/citizen/session")
class CitizenSession(MethodView):
    @blp.arguments(SessionRequestSchema)
    @blp.response(201, SessionSchema)
    def post(self, body):
        """Sign in with the phone and its code; claims the reports of the given citizen tokens"""
        s = citizen_accounts.sign_in(body["phone"], body["code"], _client(), body.get("citizen_tokens"))
        return {
            "access_token": s.token,
            "token_type": "Bearer",
            "expires_at": s.expires_at,
            "citizen": {"phone": s.user.phone, "identity_level": s.user.identity_level},
            "claimed": s.claimed,
        }

    @blp.doc(security=BEARER)
    @blp.response(204)
    def delete(self):
        """Sign out (revoke this session)"""
        _citizen()
        accounts.logout(auth.bearer_token(), accounts.API)


@blp.route("/citizen/me")
class CitizenMe(MethodView):
    @blp.doc(security=BEARER)
    @blp.response(200, CitizenSchema)
    def get(self):
        """The signed-in citizen"""
        user = _citizen()
        return {"phone": user.phone, "identity_level": user.identity_level}


@blp.route("/me/claims")
class Claims(MethodView):
    @blp.doc(security=BEARER)
    @blp.arguments(ClaimSchema)
    @blp.response(200, ClaimedSchema)
    def post(self, body):
        """Signed in: claim the reports of these citizen tokens (held by this device)"""
        return {"claimed": citizen_accounts.claim(_citizen(), body["citizen_tokens"])}


# The X-Citizen-Token header, declared and checked wherever an operation reads it.
citizen_header = blp.arguments(CitizenTokenHeaderSchema, location="headers", as_kwargs=True)


def _token(header: str | None, body: dict | None = None) -> str | None:
    return header or (body or {}).get("citizen_token") or None


def _masked(address: str) -> str:
    if "@" in address:
        name, _, domain = address.partition("@")
        return name[:2] + "***@" + domain
    return sms.masked(address)


def sub_view(sub: Subscription) -> dict:
    return {
        "id": sub.id,
        "channel": sub.channel,
        "role": sub.role,
        "active": sub.unsubscribed_at is None,
        **({} if sub.channel == Channel.PUSH else {"address": _masked(sub.address)}),
        "unsubscribe_token": subscriptions.unsubscribe_token(sub.id),
    }


@blp.route("/push/key")
class PushKey(MethodView):
    @blp.response(200, PushKeySchema)
    def get(self):
        """The VAPID public key browsers subscribe to Web Push with (404 when push is off)"""
        return {"public_key": push.public_key()}


@blp.route("/reports/<string:code>/subscriptions")
class ReportSubscriptions(MethodView):
    @citizen_header
    @blp.response(200, SubscriptionSchema(many=True))
    def get(self, code, citizen_token=None):
        """Reporter (citizen token or session): the channels this report's news reaches them on"""
        return [sub_view(s) for s in subscriptions.mine(code, citizen_token, auth.current_user())[1]]

    @citizen_header
    @blp.arguments(SubscribeSchema)
    @blp.response(201, SubscriptionSchema)
    def post(self, body, code, citizen_token=None):
        """Get this report's news on a channel, as its reporter (citizen token or session) or a follower"""
        sub = subscriptions.subscribe(
            code,
            body["channel"],
            token=_token(citizen_token, body),
            user=auth.current_user(),
            client_key=_client(),
            lang="vi" if wants_vietnamese() else "en",
            endpoint=body.get("endpoint"),
            keys=body.get("keys"),
            email=body.get("email"),
        )
        return sub_view(sub)


@blp.route("/reports/<string:code>/subscriptions/<any(push, sms, email):channel>")
class ReportChannel(MethodView):
    @citizen_header
    @blp.arguments(ChannelSwitchSchema)
    @blp.response(200, SubscriptionSchema(many=True))
    def put(self, body, code, channel, citizen_token=None):
        """Reporter: turn one channel of this report off (active=false) or back on"""
        rows = subscriptions.set_channel(code, channel, body["active"], citizen_token, auth.current_user())
        return [sub_view(s) for s in rows]


@blp.route("/subscriptions/<string:token>/unsubscribe")
class Unsubscribe(MethodView):
    @blp.response(200, SubscriptionSchema)
    def post(self, token):
        """Stop the one subscription this token names (one-click, as e-mails link it)"""
        return sub_view(subscriptions.unsubscribe(token))
