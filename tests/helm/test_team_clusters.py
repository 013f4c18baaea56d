"""The chart's side of teams on clusters of their own: the bot reads its namespace's Secrets, and the permissions a
team's kubeconfig needs (files/team-cluster-rbac.yaml) cover what a start there asks for, and reach no further
than the kinds the bot knows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from bot.challenges.access import Access, needed
from bot.kinds import KINDS
from tests import kube_schemas
from tests.helm.test_chart import FULLNAME, INSTRUCTOR, NAMESPACE, merged, one, render
from tests.scenarios.test_catalogue_behaviour import CATALOG

RBAC_FILE = Path(__file__).resolve().parents[2] / "helm" / "kubecamp-bot" / "files" / "team-cluster-rbac.yaml"


def test_the_bot_reads_the_secrets_of_its_namespace_and_is_told_where_they_are() -> None:
    objects = render(INSTRUCTOR)
    role = one(objects, "Role", f"{FULLNAME}-team-clusters")
    assert role["metadata"]["namespace"] == NAMESPACE
    assert role["rules"] == [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list", "watch"]}]
    binding = one(objects, "RoleBinding", f"{FULLNAME}-team-clusters")
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": role["metadata"]["name"],
    }
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": FULLNAME, "namespace": NAMESPACE}]
    assert one(objects, "ConfigMap", FULLNAME)["data"]["KUBECAMP_KUBE_BOT_NAMESPACE"] == NAMESPACE


def test_without_team_clusters_nothing_is_granted_and_no_namespace_is_named() -> None:
    objects = render(merged(INSTRUCTOR, {"teamClusters": {"enabled": False}}))
    assert not [o for o in objects if o["metadata"]["name"] == f"{FULLNAME}-team-clusters"]
    assert "KUBECAMP_KUBE_BOT_NAMESPACE" not in one(objects, "ConfigMap", FULLNAME)["data"]


def _granted(rules: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    return {
        (group, resource, verb)
        for rule in rules
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


def test_the_required_permissions_cover_what_a_start_asks_for() -> None:
    documents = [d for d in yaml.safe_load_all(RBAC_FILE.read_text()) if d]
    for document in documents:
        kube_schemas.validate(document)
    role = next(d for d in documents if d["kind"] == "ClusterRole")
    binding = next(d for d in documents if d["kind"] == "ClusterRoleBinding")
    account = next(d for d in documents if d["kind"] == "ServiceAccount")
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": account["metadata"]["name"], "namespace": account["metadata"]["namespace"]}
    ]
    # Every scenario of the catalogue, the cluster-scope ones included, as a start on a team's own cluster runs it.
    asked: set[Access] = set()
    for challenge in CATALOG:
        asked |= needed(challenge.scenarios, "kubecamp-blue")
    wanted = {(a.group, a.resource, a.verb) for a in asked if not a.resource.startswith("/")}
    granted = _granted(role["rules"])
    assert wanted - granted == set()
    # Paths: what Kubernetes' bootstrap role system:public-info-viewer gives every user, and nothing else.
    assert {(a.resource, a.verb) for a in asked if a.resource.startswith("/")} == {("/readyz", "get")}
    # No more than the kinds the bot applies and reads (a catalogue of one's own may apply any of them), and the
    # namespace's quota and limits: nothing else, no wildcard.
    known = {(k.group, k.plural) for k in KINDS.values()} | {("", "resourcequotas"), ("", "limitranges")}
    assert {(group, resource) for group, resource, _ in granted} <= known
    assert {verb for _, _, verb in granted} <= {"get", "list", "create", "patch", "delete"}
