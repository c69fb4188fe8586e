"""The OpenAPI document as a contract a client is generated from: short unique operation ids,
a server to call, and a description whose paths exist."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient

from accrue.api import create_app
from accrue.settings import Settings
from accrue.store.books import Books


@pytest.fixture(scope="module")
def document(tmp_path_factory):
    settings = Settings(data_dir=tmp_path_factory.mktemp("contract") / "books", actor="t")
    Books.init(settings).close()
    app = create_app(settings)
    yield app.openapi()
    app.state.books.close()


def test_operation_ids_are_short_unique_names(document):
    ids = [op["operationId"] for item in document["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    long = [i for i in ids if not re.fullmatch(r"[a-z][a-z_]{1,29}", i) or "__" in i]
    assert not long, f"operation ids a generated client would stumble on: {long}"


def test_the_document_names_a_server(document):
    assert document["servers"] == [{"url": "/", "description": "this server"}]


def test_the_description_names_paths_that_exist(document):
    named = re.findall(
        r"`(?:GET|POST|PUT|PATCH|DELETE) (/[^`\s]*)`", document["info"]["description"]
    )
    assert named and all(path in document["paths"] for path in named), named


def test_uploads_and_downloads_are_binary(document):
    uploads = [
        (name, field)
        for name, schema in document["components"]["schemas"].items()
        for field, spec in schema.get("properties", {}).items()
        if spec.get("contentMediaType") == "application/octet-stream"
    ]
    assert len(uploads) >= 5
    schemas = document["components"]["schemas"]
    assert all(schemas[name]["properties"][field]["format"] == "binary" for name, field in uploads)
    downloads = {
        path: item["get"]["responses"]["200"]["content"]
        for path, item in document["paths"].items()
        if path.endswith(("/response", "/proofs/{digest}", "/files/{name}"))
    }
    assert len(downloads) == 3, sorted(downloads)
    for path, content in downloads.items():
        binary = {"type": "string", "format": "binary"}
        assert all(c["schema"] == binary for c in content.values()), path


def _operations(document):
    return [
        (f"{method.upper()} {path}", op)
        for path, item in document["paths"].items()
        for method, op in item.items()
    ]


def test_every_list_answers_json_and_exports_files_as_an_operation_of_its_own(document):
    ops = dict(_operations(document))
    lists = {name: op for name, op in ops.items() if "limit" in _parameters(op)}
    assert len(lists) >= 28
    for name, op in lists.items():
        assert list(op["responses"]["200"]["content"]) == ["application/json"], name
        method, path = name.split(" ")
        export = ops[f"{method} {path}/export"]
        assert export["operationId"] == "export_" + op["operationId"].removeprefix("list_")
        file_format = _parameters(export)["format"]
        assert file_format["required"] and file_format["schema"]["$ref"].endswith("/FileFormat")
        content = export["responses"]["200"]["content"]
        assert next(iter(content)) == "application/octet-stream", name
        assert {c["schema"]["format"] for c in content.values()} == {"binary"}, name


def test_sort_keys_are_enums_named_for_a_client(document):
    schemas = document["components"]["schemas"]
    for name, op in _operations(document):
        sort = _parameters(op).get("sort")
        if sort is None:
            continue
        [enum, _] = sort["schema"]["anyOf"]
        declared = schemas[enum["$ref"].rpartition("/")[2]]
        assert len(declared["enum"]) == len(declared["x-enum-varnames"]) >= 2, name


def test_programs_are_sent_as_yaml_json_or_a_file(document):
    for path in ("/api/v1/programs", "/api/v1/programs/validate", "/api/v1/analytics/calibrate"):
        content = document["paths"][path]["post"]["requestBody"]["content"]
        assert set(content) == {"application/yaml", "application/json", "multipart/form-data"}


def _parameters(op) -> dict:
    return {p["name"]: p for p in op.get("parameters", [])}


def test_money_goes_in_as_text_never_as_a_number(document):
    """A generated client types a number as float; money must be sent as exact text."""
    numbers = [
        f"{name}.{field}"
        for name, schema in document["components"]["schemas"].items()
        for field, spec in schema.get("properties", {}).items()
        if '"number"' in json.dumps(spec)
    ]
    assert not numbers


def test_every_path_is_versioned_and_the_old_ones_answer_for_a_release(document, tmp_path):
    assert all(path.startswith("/api/v1/") for path in document["paths"])
    settings = Settings(data_dir=tmp_path / "books", actor="t")
    Books.init(settings).close()
    with TestClient(create_app(settings)) as client:
        old = client.post("/api/auth/login", json={"username": "nobody", "password": "x" * 12})
        new = client.post("/api/v1/auth/login", json={"username": "nobody", "password": "x" * 12})
    assert old.status_code == new.status_code == 401 and old.json() == new.json()
    assert old.headers["Deprecation"] == "true"
    assert old.headers["Link"] == '</api/v1/auth/login>; rel="successor-version"'
    assert "Deprecation" not in new.headers
