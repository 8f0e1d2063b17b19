"""Seeding the Đắk Lắk demo: communes, units, categories, routing rules, users, an API key.

Seeding runs at every `make run`, so it creates only what is missing: a row that exists is
left as it is, whatever the seed would have said. A changed password, a deactivated user, a
revoked API key or an edited category or routing rule survive every restart. (The boundaries
are the file's: import_areas updates them, and the province is their union.) When the
deployment serves several provinces (PROVINCES), the demo's units are Đắk Lắk's
(provinces.claim_units: its admin and dispatcher see that province only) and a national admin
without a unit, `national.admin`, sees every province.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select, text

from fieldreport import security
from fieldreport.extensions import db
from fieldreport.models import ApiKey, Area, Category, Role, RoutingRule, Unit, User
from fieldreport.services import provinces, uow
from fieldreport.services.areas import import_areas

DATA_DIR = Path(__file__).resolve().parents[2] / "data"
DAKLAK_FILE = DATA_DIR / "daklak_communes_2025.geojson"
PROVINCE = "66"
# The wards and commune that were the city of Buôn Ma Thuột: urban services are contracted there.
BMT_CODES = ("24133", "24121", "24154", "24163", "24169", "24175")

# code, vi, en, group, urgency, amount, unit, photo_required
CATEGORIES = [
    ("road_damage", "Hư hỏng mặt đường", "Road damage", "Giao thông", "standard", 10, "days", True),
    ("street_light", "Đèn đường hư hỏng", "Street light out", "Hạ tầng đô thị", "simple", 3, "days", False),
    ("power_outage", "Mất điện", "Power outage", "Điện", "urgent", 4, "hours", False),
    ("rubbish", "Rác thải chưa thu gom", "Uncollected rubbish", "Môi trường", "simple", 3, "days", True),
    ("illegal_dumping", "Đổ rác, phế thải trái phép", "Illegal dumping", "Môi trường", "standard", 10, "days", True),
    (
        "pavement_encroachment",
        "Lấn chiếm vỉa hè, lòng đường",
        "Pavement encroachment",
        "Trật tự đô thị",
        "simple",
        3,
        "days",
        True,
    ),
    (
        "illegal_construction",
        "Xây dựng trái phép",
        "Illegal construction",
        "Trật tự đô thị",
        "standard",
        10,
        "days",
        True,
    ),
    (
        "flooding",
        "Ngập úng, hư hỏng thoát nước",
        "Flooding or blocked drain",
        "Hạ tầng đô thị",
        "simple",
        3,
        "days",
        False,
    ),
    ("fallen_tree", "Cây xanh gãy đổ", "Fallen tree", "Hạ tầng đô thị", "urgent", 4, "hours", False),
    (
        "traffic_signal",
        "Đèn tín hiệu giao thông hỏng",
        "Traffic signal fault",
        "Giao thông",
        "simple",
        3,
        "days",
        False,
    ),
    ("noise", "Tiếng ồn, gây mất trật tự", "Noise or disorder", "An ninh trật tự", "standard", 10, "days", False),
    ("pollution", "Ô nhiễm môi trường", "Environmental pollution", "Môi trường", "complex", 15, "days", False),
    ("other", "Phản ánh khác", "Other", "Khác", "standard", 10, "days", False),
]

# code, name, name_en, kind, parent code
PROVINCE_UNITS = [
    ("UBND-66", "UBND tỉnh Đắk Lắk", "Đắk Lắk Provincial People's Committee", "province", None),
    (
        "IOC-66",
        "Trung tâm Giám sát, điều hành đô thị thông minh (IOC) tỉnh Đắk Lắk",
        "Provincial IOC dispatcher",
        "dispatcher",
        "UBND-66",
    ),
    ("SXD", "Sở Xây dựng", "Department of Construction", "department", "UBND-66"),
    ("SNNMT", "Sở Nông nghiệp và Môi trường", "Department of Agriculture and Environment", "department", "UBND-66"),
    ("SCT", "Sở Công Thương", "Department of Industry and Trade", "department", "UBND-66"),
    ("CAT", "Công an tỉnh Đắk Lắk", "Provincial Police", "police", "UBND-66"),
    ("PC-66", "Công ty Điện lực Đắk Lắk", "Đắk Lắk Power Company", "utility", "SCT"),
    ("WATER-66", "Công ty Cấp thoát nước Đắk Lắk", "Đắk Lắk Water Supply and Drainage", "utility", "SXD"),
    (
        "URENCO-BMT",
        "Công ty Môi trường đô thị Buôn Ma Thuột",
        "Buôn Ma Thuột urban environment company",
        "contractor",
        "SXD",
    ),
]

# category → (unit code, priority): province-wide ownership, beats the commune default.
PROVINCE_RULES = {
    "power_outage": "PC-66",
    "flooding": "WATER-66",
    "traffic_signal": "SXD",
    "noise": "CAT",
    "pollution": "SNNMT",
}
BMT_RULES = ("rubbish", "street_light", "fallen_tree")  # → URENCO-BMT inside the old city

# username, full name, role, unit code
USERS = [
    ("admin", "Quản trị hệ thống", Role.ADMIN, "UBND-66"),
    ("dispatcher", "Điều phối viên IOC", Role.DISPATCHER, "IOC-66"),
    ("supervisor", "Lãnh đạo UBND tỉnh", Role.SUPERVISOR, "UBND-66"),
    ("sxd.supervisor", "Lãnh đạo Sở Xây dựng", Role.SUPERVISOR, "SXD"),
    ("bmt.staff", "Cán bộ phường Buôn Ma Thuột", Role.STAFF, "UBND-24133"),
    ("tanlap.staff", "Cán bộ phường Tân Lập", Role.STAFF, "UBND-24121"),
    ("power.staff", "Nhân viên Điện lực Đắk Lắk", Role.STAFF, "PC-66"),
    ("urenco.staff", "Nhân viên Môi trường đô thị", Role.STAFF, "URENCO-BMT"),
    ("citizen", "Nguyễn Văn Dân", Role.CITIZEN, None),
    ("hotline", "Tổng đài viên đường dây nóng 1022", Role.OPERATOR, "IOC-66"),
    ("bmt.counter", "Bộ phận một cửa phường Buôn Ma Thuột", Role.OPERATOR, "UBND-24133"),
]
# Seeded only when the deployment serves several provinces (the demo's units are Đắk Lắk's then).
NATIONAL_USERS = [("national.admin", "Quản trị toàn quốc", Role.ADMIN, None)]
DEMO_API_CLIENT = "demo-open311-client"
DEMO_USERNAMES = tuple(u[0] for u in USERS + NATIONAL_USERS)
DEFAULT_DEMO_PASSWORD = "demo1234"  # make run's, unless FIELDREPORT_DEMO_PASSWORD says otherwise


@dataclass
class SeedResult:
    areas: int = 0
    units: int = 0
    categories: int = 0
    rules: int = 0
    users: list[str] = field(default_factory=list)
    created_users: list[str] = field(default_factory=list)  # those that have the demo password now
    api_key: str = ""  # empty when the demo key exists no more as seeded (revoked, replaced)


def _upsert(model, key: str, value, **fields):
    """The row, updated from the seed: only for what the boundary file owns (the province)."""
    obj = db.session.scalar(select(model).where(getattr(model, key) == value))
    if obj is None:
        obj = model(**{key: value}, **fields)
        db.session.add(obj)
    else:
        for k, v in fields.items():
            setattr(obj, k, v)
    return obj


def _ensure(model, key: str, value, **fields):
    """The row with this key, created from the seed if missing, never changed if present."""
    obj = db.session.scalar(select(model).where(getattr(model, key) == value))
    if obj is None:
        obj = model(**{key: value}, **fields)
        db.session.add(obj)
    return obj


def _province_area() -> Area:
    """The province polygon as the union of its communes (so it always matches them)."""
    union = db.session.scalar(
        select(func.ST_Multi(func.ST_Union(Area.geom))).where(Area.level == "commune", Area.province_code == PROVINCE)
    )
    label = db.session.scalar(select(func.ST_PointOnSurface(union)))
    return _upsert(
        Area,
        "code",
        "P" + PROVINCE,
        name="Đắk Lắk",
        full_name="Tỉnh Đắk Lắk",
        kind="Tỉnh",
        level="province",
        province_code=PROVINCE,
        geom=union,
        label=label,
    )


def seed_demo(password: str, secret: str, areas_file: Path = DAKLAK_FILE) -> SeedResult:
    """Idempotent: running it again creates what is missing and changes nothing that exists."""
    res = SeedResult()
    import_areas(areas_file)
    province = _province_area()
    db.session.flush()
    communes = db.session.scalars(select(Area).where(Area.level == "commune", Area.province_code == PROVINCE)).all()
    for c in communes:
        c.parent_id = province.id
    res.areas = len(communes)

    units: dict[str, Unit] = {}
    for code, name, name_en, kind, parent in PROVINCE_UNITS:
        units[code] = _ensure(
            Unit,
            "code",
            code,
            name=name,
            name_en=name_en,
            kind=kind,
            parent=units.get(parent) if parent else None,
            area_id=province.id,
        )
    for c in communes:
        code = f"UBND-{c.code}"
        units[code] = _ensure(
            Unit,
            "code",
            code,
            name=f"UBND {c.full_name}",
            name_en=f"People's Committee of {c.full_name}",
            kind="commune",
            parent=units["UBND-66"],
            area_id=c.id,
        )
    db.session.flush()
    res.units = len(units)

    cats: dict[str, Category] = {}
    for i, (code, vi, en, group, urgency, amount, dunit, photo) in enumerate(CATEGORIES):
        cats[code] = _ensure(
            Category,
            "code",
            code,
            name_vi=vi,
            name_en=en,
            group=group,
            urgency=urgency,
            deadline_amount=amount,
            deadline_unit=dunit,
            photo_required=photo,
            anonymous_allowed=True,
            public=True,
            active=True,
            is_other=(code == "other"),
            sort_order=i,
            attributes=_attributes(code),
        )
    db.session.flush()
    res.categories = len(cats)
    res.rules = _seed_rules(province, communes, units, cats)

    multi = provinces.is_multi()
    if multi:
        provinces.claim_units()
    for username, full_name, role, unit_code in USERS + (NATIONAL_USERS if multi else []):
        label = f"{username} ({role}{', ' + unit_code if unit_code else ''})"
        if db.session.scalar(select(User.id).where(User.username == username)) is None:
            db.session.add(
                User(
                    username=username,
                    full_name=full_name,
                    role=role,
                    active=True,
                    unit_id=units[unit_code].id if unit_code else None,
                    password_hash=security.hash_password(password),
                )
            )
            res.created_users.append(label)
        res.users.append(label)

    api_key = "demo-" + security.keyed(secret, "open311-demo-key")[:32]
    key = _ensure(
        ApiKey,
        "name",
        DEMO_API_CLIENT,
        key_hash=security.token_hash(api_key),
        key_prefix=api_key[:10],
        contact="demo@fieldreport.example",
        active=True,
    )
    if key.active and key.revoked_at is None and key.key_hash == security.token_hash(api_key):
        res.api_key = api_key
    uow.commit()
    return res


def _seed_rules(province, communes, units, cats) -> int:
    """The demo's rules, when there are none yet (the rules of a running demo are its own)."""
    existing = db.session.scalar(select(func.count()).select_from(RoutingRule))
    if existing:
        return existing
    rules = [
        RoutingRule(
            category_id=None,
            area_id=c.id,
            unit_id=units[f"UBND-{c.code}"].id,
            priority=0,
            scope_area_m2=None,
            note="Mặc định: UBND xã, phường sở tại",
        )
        for c in communes
    ]
    for cat, unit in PROVINCE_RULES.items():
        rules.append(
            RoutingRule(
                category_id=cats[cat].id,
                area_id=province.id,
                unit_id=units[unit].id,
                priority=10,
                note="Đơn vị phụ trách lĩnh vực trên toàn tỉnh",
            )
        )
    bmt = select(func.ST_Multi(func.ST_Union(Area.geom))).where(Area.code.in_(BMT_CODES)).scalar_subquery()
    for cat in BMT_RULES:
        rules.append(
            RoutingRule(
                category_id=cats[cat].id,
                scope=bmt,
                unit_id=units["URENCO-BMT"].id,
                priority=10,
                note="Hợp đồng dịch vụ đô thị, khu vực TP Buôn Ma Thuột cũ",
            )
        )
    db.session.add_all(rules)
    db.session.flush()
    # Precedence ties are broken by area: store it in m² once (geography maths in PostGIS).
    db.session.execute(
        text(
            "UPDATE routing_rules r SET scope_area_m2 = ST_Area(a.geom::geography) "
            "FROM areas a WHERE a.id = r.area_id AND r.scope IS NULL"
        )
    )
    db.session.execute(
        text("UPDATE routing_rules SET scope_area_m2 = ST_Area(scope::geography) WHERE scope IS NOT NULL")
    )
    return len(rules)


def _attributes(code: str) -> list[dict]:
    """Open311 service-definition attributes for the categories that ask for more detail."""
    if code == "road_damage":
        return [
            {
                "code": "size",
                "datatype": "singlevaluelist",
                "required": False,
                "order": 1,
                "description": "Kích thước ổ gà / Size of the hole",
                "values": [
                    {"key": "small", "name": "< 30 cm"},
                    {"key": "medium", "name": "30–100 cm"},
                    {"key": "large", "name": "> 100 cm"},
                ],
            }
        ]
    if code == "power_outage":
        return [
            {
                "code": "households",
                "datatype": "number",
                "required": False,
                "order": 1,
                "description": "Số hộ bị ảnh hưởng / Households affected",
            }
        ]
    return []
