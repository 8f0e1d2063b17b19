"""Health, readiness (naming the part that is down), metrics, OpenAPI, problem errors."""


def test_healthz(client):
    assert client.get("/healthz").json == {"status": "ok"}


def test_readyz_all_up(client):
    r = client.get("/readyz")
    assert r.status_code == 200, r.json
    assert r.json["checks"] == {"database": "ok", "redis": "ok", "storage": "ok"}


def test_readyz_names_storage_when_down(client, s3_server):
    s3_server.stop()
    try:
        r = client.get("/readyz")
    finally:
        s3_server.start()
    assert r.status_code == 503
    assert r.json["down"] == ["storage"]
    assert r.headers["Retry-After"]


def test_openapi_and_docs(client):
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/categories" in spec["paths"]


def test_unknown_path_is_problem_json_in_vietnamese_by_default(client):
    r = client.get("/api/v1/nothing-here")
    assert r.status_code == 404
    assert r.mimetype == "application/problem+json"
    assert r.json["code"] == "not_found" and r.json["message"] == "Không tìm thấy."
    r = client.get("/api/v1/nothing-here", headers={"Accept-Language": "en"})
    assert r.json["message"] != "Không tìm thấy."


def test_metrics_exposed(client):
    client.get("/healthz")
    assert b"fieldreport_http_requests_total" in client.get("/metrics").data


def test_categories_in_both_languages(client):
    vi = client.get("/api/v1/categories").json
    en = client.get("/api/v1/categories", headers={"Accept-Language": "en"}).json
    assert len(vi) == 13
    road = next(c for c in vi if c["code"] == "road_damage")
    assert road["name"] == "Hư hỏng mặt đường" and road["photo_required"] is True
    assert next(c for c in en if c["code"] == "road_damage")["name"] == "Road damage"
