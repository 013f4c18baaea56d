"""The chart with a PostgreSQL store (database.url or database.existingSecret): the URL reaches the bot from a Secret
only, no claim is made or mounted, the NetworkPolicy lets the bot reach the database, and a URL the bot cannot use
fails the render."""

from __future__ import annotations

import base64
from typing import Any

import helm_python
import pytest

from bot.config import StoreSettings
from tests import kube_schemas
from tests.helm.test_chart import (
    FULLNAME,
    INSTRUCTOR,
    checksums,
    env,
    kinds,
    merged,
    notes,
    one,
    pod_spec,
    render,
)

URL = "postgresql+asyncpg://kubecamp:s3cret@postgres.databases.svc:5432/kubecamp"
DATABASE_URL: dict[str, Any] = merged(INSTRUCTOR, {"database": {"url": URL}})
DATABASE_SECRET: dict[str, Any] = merged(
    INSTRUCTOR, {"database": {"existingSecret": "kubecamp-database", "existingSecretKey": "url"}}
)
DATABASE_SECRET_NAME = f"{FULLNAME}-database"


@pytest.mark.parametrize("values", [DATABASE_URL, DATABASE_SECRET], ids=["url", "existing-secret"])
def test_with_postgresql_no_claim_is_made_or_mounted(values: dict[str, Any]) -> None:
    objects = render(values)
    for obj in objects:
        if obj["kind"] != "Pod":  # the preflight, checked with the chart's other objects
            kube_schemas.validate(obj)
    assert "PersistentVolumeClaim" not in kinds(objects)
    volumes = {v["name"]: v for v in pod_spec(objects)["volumes"]}
    assert volumes["data"] == {"name": "data", "emptyDir": {}}
    # Persistence's own settings do not bring a claim back.
    with_claim = render(merged(values, {"persistence": {"enabled": True, "existingClaim": "kubecamp-data"}}))
    assert "persistentVolumeClaim" not in {v["name"]: v for v in pod_spec(with_claim)["volumes"]}["data"]
    text = notes(values)
    assert "The store is the PostgreSQL database" in text
    assert "WARNING: persistence" not in text


def test_the_url_reaches_the_bot_from_the_charts_secret_and_never_the_configmap() -> None:
    objects = render(DATABASE_URL)
    secret = one(objects, "Secret", DATABASE_SECRET_NAME)
    assert {k: base64.b64decode(v).decode() for k, v in secret["data"].items()} == {"database-url": URL}
    assert env(objects)["KUBECAMP_DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": DATABASE_SECRET_NAME,
        "key": "database-url",
    }
    assert all("s3cret" not in str(o) for o in objects if o["kind"] != "Secret")
    # The bot reads that variable as its store's URL.
    assert StoreSettings(database_url=URL).url == URL
    assert "KUBECAMP_DATABASE_URL" not in one(objects, "ConfigMap")["data"]


def test_a_new_url_restarts_the_bot() -> None:
    before = checksums(DATABASE_URL)
    after = checksums(merged(DATABASE_URL, {"database": {"url": URL.replace("s3cret", "rotated")}}))
    assert before["checksum/database"] != after["checksum/database"]
    assert before["checksum/config"] == after["checksum/config"]
    assert "checksum/database" not in checksums(INSTRUCTOR)
    assert "checksum/database" not in checksums(DATABASE_SECRET)


def test_an_existing_secret_names_the_url_and_the_chart_makes_none() -> None:
    objects = render(DATABASE_SECRET)
    assert DATABASE_SECRET_NAME not in {o["metadata"]["name"] for o in objects if o["kind"] == "Secret"}
    assert env(objects)["KUBECAMP_DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": "kubecamp-database",
        "key": "url",
    }
    assert "Secret kubecamp-database" in notes(DATABASE_SECRET)


def test_sqlite_by_default_the_url_is_not_set() -> None:
    objects = render(INSTRUCTOR)
    assert "KUBECAMP_DATABASE_URL" not in env(objects)
    assert "PersistentVolumeClaim" in kinds(objects)
    assert DATABASE_SECRET_NAME not in {o["metadata"]["name"] for o in objects if o["kind"] == "Secret"}


def test_the_network_policy_lets_the_bot_reach_postgresql_only_when_it_is_the_store() -> None:
    rules = one(render(DATABASE_URL), "NetworkPolicy")["spec"]["egress"]
    assert rules[-1] == {"ports": [{"port": 5432, "protocol": "TCP"}]}
    database = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "databases"}}}
    narrowed = merged(DATABASE_URL, {"networkPolicy": {"egress": {"database": {"port": 6432, "to": [database]}}}})
    assert one(render(narrowed), "NetworkPolicy")["spec"]["egress"][-1] == {
        "ports": [{"port": 6432, "protocol": "TCP"}],
        "to": [database],
    }
    assert all(
        rule.get("ports") != [{"port": 5432, "protocol": "TCP"}]
        for rule in one(render(INSTRUCTOR), "NetworkPolicy")["spec"]["egress"]
    )


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://kubecamp@db/kubecamp",  # the synchronous driver: the bot's engine is async
        "sqlite+aiosqlite:////var/lib/kubecamp/kubecamp.db",  # SQLite is persistence's
        "postgresql+asyncpg://kubecamp@db/kubecamp extra",
    ],
)
def test_a_url_the_bot_cannot_use_fails_the_render(url: str) -> None:
    with pytest.raises(helm_python.HelmValuesError, match="/database/url"):
        render(merged(INSTRUCTOR, {"database": {"url": url}}))


def test_the_url_given_two_ways_fails_the_render_saying_which() -> None:
    with pytest.raises(helm_python.HelmRenderError, match=r"database\.url and database\.existingSecret are both set"):
        render(merged(DATABASE_URL, {"database": {"existingSecret": "kubecamp-database"}}))
