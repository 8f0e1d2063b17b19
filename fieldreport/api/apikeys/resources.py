"""GET/POST /api/v1/api-keys, GET/DELETE /api/v1/api-keys/{id}: admins manage Open311 keys."""

from flask.views import MethodView

from fieldreport.api.apikeys.schemas import ApiKeyCreatedSchema, ApiKeyCreateSchema, ApiKeySchema
from fieldreport.api.parsing import Blueprint
from fieldreport.auth import require_roles
from fieldreport.models import ApiKey, Role
from fieldreport.services import apikeys, staff_read

blp = Blueprint("apikeys", __name__, description="Open311 API keys (administrators)")
BEARER: list[dict] = [{"bearer": []}]


def _view(key: ApiKey, raw: str | None = None) -> dict:
    unit = staff_read.unit(key.unit_id)
    out = {
        "id": key.id,
        "name": key.name,
        "key_prefix": key.key_prefix,
        "contact": key.contact,
        "unit_code": unit.code if unit else None,
        "active": key.active,
        "created_at": key.created_at,
        "revoked_at": key.revoked_at,
    }
    if raw is not None:
        out["api_key"] = raw
    return out


@blp.route("/api-keys")
class ApiKeys(MethodView):
    @require_roles(Role.ADMIN)
    @blp.doc(security=BEARER)
    @blp.response(200, ApiKeySchema(many=True))
    def get(self):
        """List the Open311 API keys"""
        return [_view(k) for k in apikeys.list_keys()]

    @require_roles(Role.ADMIN)
    @blp.doc(security=BEARER)
    @blp.arguments(ApiKeyCreateSchema)
    @blp.response(201, ApiKeyCreatedSchema)
    def post(self, body):
        """Issue a key for an Open311 client (the key is shown once)"""
        key, raw = apikeys.create(body["name"], body["contact"], body["unit_code"])
        return _view(key, raw)


@blp.route("/api-keys/<int:key_id>")
class ApiKeysById(MethodView):
    @require_roles(Role.ADMIN)
    @blp.doc(security=BEARER)
    @blp.response(200, ApiKeySchema)
    def get(self, key_id):
        """One Open311 API key"""
        return _view(apikeys.get(key_id))

    @require_roles(Role.ADMIN)
    @blp.doc(security=BEARER)
    @blp.response(200, ApiKeySchema)
    def delete(self, key_id):
        """Revoke an Open311 API key (permanent; the client's history keeps its name)"""
        return _view(apikeys.revoke(apikeys.get(key_id)))
