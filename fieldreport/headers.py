"""Security headers on every response (flask-talisman): CSP, frame-ancestors, nosniff, HSTS.

The Content-Security-Policy allows only what the pages load: our own scripts (vendored
Leaflet, Chart.js, swagger-ui) and the few inline ones by a per-request nonce
(`nonce="{{ csp_nonce() }}"`), images from us, data:/blob: URLs (photo previews), the map
tile server (MAP_TILE_URL) and the object store's public endpoint (photos redirect to
presigned URLs there). Styles allow 'unsafe-inline' for the style attributes of a few
templates; scripts never do. Strict-Transport-Security goes out on HTTPS requests only
(talisman's rule), so local http development is untouched; the proxy terminates TLS, so the
app never redirects to https itself.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask
from flask_talisman import Talisman

talisman = Talisman()


def tile_source(template: str | None) -> str | None:
    """The CSP source of a tile URL template: its origin, "{s}." subdomains as a wildcard."""
    if not template:
        return None
    parts = urlsplit(template.replace("{s}.", "tiles-subdomain."))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    host = parts.netloc.replace("tiles-subdomain.", "*.")
    return f"{parts.scheme}://{host}"


def policy(cfg) -> dict:
    scheme = "https" if cfg["S3_SECURE"] else "http"
    storage = f"{scheme}://{cfg['S3_PUBLIC_ENDPOINT']}"
    images = ["'self'", "data:", "blob:", storage]
    tiles = tile_source(cfg.get("MAP_TILE_URL"))
    if tiles:
        images.append(tiles)
    return {
        "default-src": "'self'",
        "script-src": "'self'",
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": images,
        "connect-src": ["'self'", storage],
        "worker-src": "'self'",
        "manifest-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }


def init_app(app: Flask) -> None:
    cfg = app.config
    talisman.init_app(
        app,
        content_security_policy=policy(cfg),
        content_security_policy_nonce_in=["script-src"],
        force_https=False,  # TLS ends at the proxy; HSTS still tells browsers to stay on https
        frame_options="DENY",
        strict_transport_security=True,
        strict_transport_security_max_age=365 * 24 * 3600,
        referrer_policy="strict-origin-when-cross-origin",
        permissions_policy={"browsing-topics": "()", "geolocation": "(self)", "camera": "(self)"},
        # The session cookie's flags stay those of config/settings.py (COOKIE_SECURE).
        session_cookie_secure=cfg.get("SESSION_COOKIE_SECURE", False),
        session_cookie_http_only=cfg.get("SESSION_COOKIE_HTTPONLY", True),
        session_cookie_samesite=cfg.get("SESSION_COOKIE_SAMESITE") or "Lax",
    )
