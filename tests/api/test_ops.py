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


def metric(text: str, name: str, **labels) -> float:
    """One sample's value from a Prometheus exposition (0 when it has not been counted yet)."""
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return 0.0


def test_metrics_count_each_request(client):
    """The values the request hooks write, not a name a HELP line would show anyway."""
    ok = {"method": "GET", "endpoint": "ops.healthz", "status": "200"}
    before = client.get("/metrics").get_data(as_text=True)
    for _ in range(3):
        client.get("/healthz")
    client.get("/api/v1/nothing-here")
    after = client.get("/metrics").get_data(as_text=True)
    assert (
        metric(after, "fieldreport_http_requests_total", **ok)
        == metric(before, "fieldreport_http_requests_total", **ok) + 3
    )
    assert (
        metric(after, "fieldreport_http_request_seconds_count", endpoint="ops.healthz")
        == metric(before, "fieldreport_http_request_seconds_count", endpoint="ops.healthz") + 3
    )
    missing = {"method": "GET", "endpoint": "unknown", "status": "404"}
    assert (
        metric(after, "fieldreport_http_requests_total", **missing)
        == metric(before, "fieldreport_http_requests_total", **missing) + 1
    )


def test_categories_in_both_languages(client):
    vi = client.get("/api/v1/categories").json
    en = client.get("/api/v1/categories", headers={"Accept-Language": "en"}).json
    assert len(vi) == 13
    road = next(c for c in vi if c["code"] == "road_damage")
    assert road["name"] == "Hư hỏng mặt đường" and road["photo_required"] is True
    assert next(c for c in en if c["code"] == "road_damage")["name"] == "Road damage"


def test_a_wrong_method_is_a_problem_405_naming_the_allowed_ones(client):
    r = client.post("/healthz")
    assert r.status_code == 405 and r.mimetype == "application/problem+json"
    assert "GET" in {m.strip() for m in r.headers["Allow"].split(",")}
