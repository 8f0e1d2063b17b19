"""POST /citizen/otp, POST and DELETE /citizen/session, GET /citizen/me, POST /me/claims."""
from __future__ import annotations

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint

from fieldreport import auth
from fieldreport.api.citizen.schemas import (
    CitizenSchema, ClaimedSchema, ClaimSchema, OtpRequestSchema, OtpSentSchema, SessionRequestSchema,
    SessionSchema)
from fieldreport.errors import Forbidden
from fieldreport.models import User
from fieldreport.services import citizen_accounts, intake

blp = Blueprint("citizen", __name__, description=(
    "Citizens sign in with their phone number: POST /citizen/otp sends a 6-digit code by SMS, "
    "POST /citizen/session exchanges it for a bearer session (valid CITIZEN_SESSION_DAYS) and "
    "claims the reports this device proves with their citizen tokens. Answers are the same "
    "whether the phone is known."))
BEARER = [{"bearer": []}]


def _client() -> str:
    return intake.client_key(request.remote_addr or "")


def _citizen() -> User:
    user = auth.require_user()
    if user.role != citizen_accounts.CITIZEN_ROLE:
        raise Forbidden("citizen_only", "Only a citizen signed in by phone can do this.",
                        "Chỉ công dân đăng nhập bằng số điện thoại mới thực hiện được.")
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
        return {"access_token": s.token, "token_type": "Bearer", "expires_at": s.expires_at,
                "citizen": {"phone": s.user.phone, "identity_level": s.user.identity_level},
                "claimed": s.claimed}

    @blp.doc(security=BEARER)
    @blp.response(204)
    def delete(self):
        """Sign out (revoke this session)"""
        _citizen()
        auth.logout()


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
