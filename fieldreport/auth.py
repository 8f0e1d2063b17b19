"""The HTTP side of staff sign-in: who sends this request, and the role decorators.

The request's bearer token is read here and looked up by the accounts service
(services/accounts.py: signing in and out, tokens, the sign-in back-off); what a user may see
and do is decided by services/policy.py, which the services apply themselves.
"""

from __future__ import annotations

import functools

from flask import request

from fieldreport.errors import Forbidden, Unauthorized
from fieldreport.models import User
from fieldreport.services import accounts


def bearer_token() -> str:
    """The request's bearer token ("" without one)."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def current_user() -> User | None:
    """The user of the request's valid bearer token, or None."""
    return accounts.lookup(bearer_token(), accounts.API)[0]


def require_user() -> User:
    user = current_user()
    if user is None:
        raise Unauthorized(
            "unauthorized",
            "Sign in first (a valid bearer token is required).",
            "Cần đăng nhập (thiếu hoặc sai mã truy cập).",
        )
    return user


def require_roles(*roles: str):
    """View decorator: 401 without a valid token, 403 when the role is not one of `roles`.

    Put it above the flask-smorest decorators so that authentication comes before parsing.
    """

    def decorator(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            user = require_user()
            if roles and user.role not in roles:
                raise Forbidden(
                    "forbidden_role",
                    "Your role may not do this.",
                    "Vai trò của bạn không được phép thực hiện thao tác này.",
                )
            return fn(*args, **kwargs)

        return wrapper

    return decorator
