"""POST /auth/login, /auth/logout, /auth/logout-everywhere, /auth/password; GET /auth/me."""

from __future__ import annotations

from flask import request
from flask.views import MethodView

from fieldreport import auth
from fieldreport.api.auth.schemas import LoginSchema, PasswordChangeSchema, TokenSchema, UserSchema
from fieldreport.api.parsing import Blueprint
from fieldreport.models import User
from fieldreport.services import accounts, staff_read

blp = Blueprint("auth", __name__, description="Staff sign-in with bearer tokens")
BEARER: list[dict] = [{"bearer": []}]


def user_view(user: User) -> dict:
    unit = staff_read.unit(user.unit_id)
    return {
        "id": user.id,
        "username": user.username,
        "full_name": user.full_name,
        "role": user.role,
        "unit": {"code": unit.code, "name": unit.name, "kind": unit.kind} if unit else None,
    }


@blp.route("/auth/login")
class Login(MethodView):
    @blp.arguments(LoginSchema)
    @blp.response(200, TokenSchema)
    def post(self, body):
        """Sign in; returns a bearer token valid TOKEN_TTL_MINUTES"""
        token, expires, user = accounts.login(body["username"], body["password"], request.remote_addr or "unknown")
        return {"access_token": token, "token_type": "Bearer", "expires_at": expires, "user": user_view(user)}


@blp.route("/auth/logout")
class Logout(MethodView):
    @auth.require_roles()
    @blp.doc(security=BEARER)
    @blp.response(204)
    def post(self):
        """Revoke the token of this request"""
        accounts.logout(auth.bearer_token(), accounts.API)


@blp.route("/auth/logout-everywhere")
class LogoutEverywhere(MethodView):
    @auth.require_roles()
    @blp.doc(security=BEARER)
    @blp.response(204)
    def post(self):
        """Sign out everywhere: revoke every token and console session of this user"""
        accounts.sign_out_everywhere(auth.current_user())


@blp.route("/auth/password")
class Password(MethodView):
    @auth.require_roles()
    @blp.doc(security=BEARER)
    @blp.arguments(PasswordChangeSchema)
    @blp.response(204)
    def post(self, body):
        """Change this user's password; every session ends, this token included"""
        accounts.change_password(
            auth.current_user(), body["current_password"], body["new_password"], request.remote_addr or "unknown"
        )


@blp.route("/auth/me")
class Me(MethodView):
    @auth.require_roles()
    @blp.doc(security=BEARER)
    @blp.response(200, UserSchema)
    def get(self):
        """The signed-in user"""
        return user_view(auth.current_user())
