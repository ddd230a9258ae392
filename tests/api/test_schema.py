"""GET /api/schema/ (OpenAPI 3) and /api/docs/ (Swagger UI served by Tally, no CDN)."""

import re
from html.parser import HTMLParser

from django.test import Client
from drf_spectacular.validation import validate_schema

from generations.ingest.validation import REQUIRED_FIELDS

ENDPOINTS = {
    "/api/v1/generations/": {"get", "post"},
    "/api/v1/generations/{gateway}/{external_id}/": {"get"},
    "/api/v1/keys/": {"get"},
    "/api/v1/keys/{slug}/spend/": {"get"},
    "/api/v1/discrepancies/": {"get"},
    "/api/v1/discrepancies/{id}/": {"get", "patch"},
    "/api/v1/invoices/": {"get"},
    "/api/v1/invoices/{id}/": {"get"},
    "/api/v1/integrations/litellm/": {"post"},
}


def test_the_schema_is_valid_openapi_3_and_describes_every_endpoint(db):
    response = Client().get("/api/schema/", {"format": "json"})

    assert response.status_code == 200
    schema = response.json()
    validate_schema(schema)
    assert schema["openapi"].startswith("3.")
    assert {path: set(operations) - {"parameters"} for path, operations in schema["paths"].items()} == ENDPOINTS
    assert schema["components"]["securitySchemes"]["accessToken"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schema["components"]["securitySchemes"]["accessToken"]["description"],
    }


def test_the_schema_describes_the_ingest_request_and_its_error_shape(db):
    schema = Client().get("/api/schema/", {"format": "json"}).json()

    ingest = schema["paths"]["/api/v1/generations/"]["post"]
    assert set(ingest["responses"]) >= {"201", "400", "401", "403", "413"}
    record = schema["components"]["schemas"]["IngestRecordRequest"]
    assert set(record["required"]) == set(REQUIRED_FIELDS)
    errors = schema["components"]["schemas"]["RecordError"]["properties"]
    assert set(errors) == {"index", "field", "message"}


class _AssetCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attributes: list) -> None:
        self.urls += [value for name, value in attributes if name in ("src", "href") and value]


def test_the_docs_page_loads_every_asset_from_tally_itself(db):
    client = Client()
    response = client.get("/api/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    collector = _AssetCollector()
    collector.feed(html)
    assert len(collector.urls) >= 3
    for url in collector.urls:
        assert url.startswith("/static/"), url
        assert client.get(url).status_code == 200, url
    assert not re.search(r"https?://", html), "the page must not reference another host"
    assert '"/api/schema/"' in html
