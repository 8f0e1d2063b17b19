"""Importing administrative boundaries from GeoJSON (or .geojson.gz), idempotent by official code."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from shapely.geometry import Point
from sqlalchemy import select

from fieldreport import geo
from fieldreport.extensions import db
from fieldreport.models import Area
from fieldreport.services import uow


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    repaired: int = 0
    skipped: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.created + self.updated


def _describe(props: dict) -> dict:
    """Map the properties of the vn-boundaries files (commune, district, province) to an Area."""
    if "code" in props:  # commune files
        return dict(
            code=props["code"],
            name=props["name"],
            full_name=props.get("full_name") or props["name"],
            kind=props.get("type"),
            level="commune",
            province_code=props.get("province_code"),
            population=props.get("population"),
            area_km2=props.get("area_km2"),
        )
    if "district_code" in props:
        return dict(
            code="D" + props["district_code"],
            name=props["district_name"],
            full_name=props["district_name"],
            kind=None,
            level="district",
            province_code=props.get("province_code"),
        )
    if "province_code" in props:
        return dict(
            code="P" + props["province_code"],
            name=props["province_name"],
            full_name=props["province_name"],
            kind="Tỉnh",
            level="province",
            province_code=props["province_code"],
        )
    raise ValueError("feature has no code, district_code or province_code")


def read_features(path: Path | str, provinces: Iterable[str] | None = None) -> list[dict]:
    """The features of a GeoJSON file (gzip-compressed when it ends in .gz), optionally only
    those of some provinces (by their `province_code` property)."""
    path = Path(path)
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    features = json.loads(raw.decode("utf-8")).get("features") or []
    if provinces is not None:
        wanted = set(provinces)
        features = [f for f in features if (f.get("properties") or {}).get("province_code") in wanted]
    return features


def import_areas(
    path: Path | str,
    progress: Callable[[int, int], None] | None = None,
    batch: int = 200,
    provinces: Iterable[str] | None = None,
) -> ImportResult:
    """Load a FeatureCollection (of `provinces` only, when given); repairs invalid rings with
    make_valid; one commit per batch."""
    features = read_features(path, provinces)
    result = ImportResult()
    existing = {a.code: a for a in db.session.scalars(select(Area))}
    for i, feat in enumerate(features, 1):
        props = feat.get("properties") or {}
        try:
            fields = _describe(props)
            mp, repaired = geo.multipolygon(feat["geometry"])
        except (ValueError, KeyError, TypeError) as exc:
            result.skipped.append(f"feature {i}: {exc}")
            continue
        result.repaired += repaired
        label = props.get("label_lon"), props.get("label_lat")
        label_pt = Point(*label) if None not in label else mp.representative_point()
        area = existing.get(fields["code"])
        if area is None:
            area = Area(**fields)
            db.session.add(area)
            existing[area.code] = area
            result.created += 1
        else:
            for k, v in fields.items():
                setattr(area, k, v)
            result.updated += 1
        area.geom = geo.to_db(mp)
        area.label = geo.to_db(label_pt)
        if i % batch == 0:
            uow.commit()
            if progress:
                progress(i, len(features))
    _link_parents(existing)
    uow.commit()
    if progress:
        progress(len(features), len(features))
    return result


def _link_parents(areas: dict[str, Area]) -> None:
    """Communes hang under their province area when that area is loaded."""
    for area in areas.values():
        if area.level == "commune" and area.province_code:
            parent = areas.get("P" + area.province_code)
            if parent is not None and parent.id is not None:
                area.parent_id = parent.id
