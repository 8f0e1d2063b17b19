"""/api/v1/users: administrators list, create, deactivate and reactivate staff accounts and
reset their passwords (services/accounts: the same service as the flask CLI)."""

from flask.views import MethodView

from fieldreport import auth
from fieldreport.api.parsing import Blueprint
from fieldreport.api.users.schemas import (
    AccountActPageSchema,
    AccountCreateSchema,
    AccountPageSchema,
    AccountQuerySchema,
    AccountReasonSchema,
    AccountSchema,
    PageQuerySchema,
    PasswordResetSchema,
)
from fieldreport.models import Role
from fieldreport.services import accounts

blp = Blueprint("users", __name__, description="Staff accounts (administrators)")
BEARER: list[dict[str, list[str]]] = [{"bearer": []}]


@blp.route("/users")
class Users(MethodView):
    @auth.require_roles(Role.ADMIN)
    @blp.doc(security=BEARER)
    @blp.arguments(AccountQuerySchema, location="query")
    @blp.response(200, AccountPageSchema)
    def get(self, args):
        """The staff accounts of the units this admin administers"""
        return accounts.users(auth.current_user(), **args)

    @auth.require_roles(Role.ADMIN)
    @blp.doc(security=BEARER)
    @blp.arguments(AccountCreateSchema)
    @blp.response(201, AccountSchema)
    def post(self, body):
        """Create a staff account (recorded in the audit log)"""
        user = accounts.save_user(
            body["username"],
            body["role"],
            body["unit_code"],
            body["full_name"],
            body["password"],
            by=auth.current_user(),
            create_only=True,
            reason=body["reason"],
        )
        return accounts.view(user)


@blp.route("/users/acts")
class UserActs(MethodView):
    @auth.require_roles(Role.ADMIN)
    @blp.doc(security=BEARER)
    @blp.arguments(PageQuerySchema, location="query")
    @blp.response(200, AccountActPageSchema)
    def get(self, args):
        """Who created, deactivated, reactivated an account or reset its password, when and why"""
        return accounts.acts(auth.current_user(), **args)


@blp.route("/users/<int:user_id>")
class UsersById(MethodView):
    @auth.require_roles(Role.ADMIN)
    @blp.doc(security=BEARER)
    @blp.response(200, AccountSchema)
    def get(self, user_id):
        """One staff account"""
        return accounts.view(accounts.managed(auth.current_user(), user_id))


@blp.route("/users/<int:user_id>/deactivate")
class Deactivate(MethodView):
    @auth.require_roles(Role.ADMIN)
    @blp.doc(security=BEARER)
    @blp.arguments(AccountReasonSchema)
    @blp.response(200, AccountSchema)
    def post(self, body, user_id):
        """Deactivate an account: no sign-in, every token and console session ends"""
        admin = auth.current_user()
        user = accounts.managed(admin, user_id)
        accounts.set_active(user, False, by=admin, reason=body["reason"])
        return accounts.view(user)


@blp.route("/users/<int:user_id>/reactivate")
class Reactivate(MethodView):
    @auth.require_roles(Role.ADMIN)
    @blp.doc(security=BEARER)
    @blp.arguments(AccountReasonSchema)
    @blp.response(200, AccountSchema)
    def post(self, body, user_id):
        """Reactivate an account (no old session comes back)"""
        admin = auth.current_user()
        user = accounts.managed(admin, user_id)
        accounts.set_active(user, True, by=admin, reason=body["reason"])
        return accounts.view(user)


@blp.route("/users/<int:user_id>/password")
class PasswordReset(MethodView):
    @auth.require_roles(Role.ADMIN)
    @blp.doc(security=BEARER)
    @blp.arguments(PasswordResetSchema)
    @blp.response(204)
    def post(self, body, user_id):
        """Give the user a new password: every session of the user ends"""
        admin = auth.current_user()
        accounts.reset_password(accounts.managed(admin, user_id), body["password"], by=admin, reason=body["reason"])
