"""Bound ServiceAccount tokens and RBAC, through the official client and the real kubectl: a token from
TokenRequest is its ServiceAccount, what RBAC grants it is allowed, the rest is the API server's 403, and a
token whose account was deleted or recreated, or that expired, is 401."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from kubernetes.aio import client as k8s
from kubernetes.aio.client.exceptions import ApiException

from tests.emulators import KubeCluster
from tests.emulators.kubectl import Kubectl, KubectlFailed
from tests.emulators.store import parse_time

from .conftest import NS

OTHER = "team-red"
SA = "student"
USER = f"system:serviceaccount:{NS}:{SA}"


def cluster_role(name: str, rules: list[dict[str, Any]], labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": labels or {}}, "rules": rules}


def role_binding(name: str, role: str, *, kind: str = "ClusterRole") -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": role},
        "subjects": [{"kind": "ServiceAccount", "name": SA, "namespace": NS}],
    }


async def token_for(api: k8s.ApiClient, name: str = SA, seconds: int = 3600) -> tuple[str, str]:
    request = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": seconds}}
    answer = await k8s.CoreV1Api(api).create_namespaced_service_account_token(name, NS, request)
    return answer.status.token, answer.status.expiration_timestamp


@pytest.fixture
async def student(api: k8s.ApiClient) -> str:
    return await make_student(api)


async def make_student(api: k8s.ApiClient) -> str:
    """A ServiceAccount in team1 that may work with pods and read their logs there, and its token."""
    core, rbac = k8s.CoreV1Api(api), k8s.RbacAuthorizationV1Api(api)
    await core.create_namespace({"metadata": {"name": OTHER}})
    await core.create_namespaced_service_account(NS, {"metadata": {"name": SA}})
    rules = [
        {"apiGroups": [""], "resources": ["pods", "pods/log"], "verbs": ["get", "list", "watch", "create", "delete"]},
        {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["*"]},
    ]
    await rbac.create_cluster_role(cluster_role("pod-worker", rules))
    await rbac.create_namespaced_role_binding(NS, role_binding("student-works", "pod-worker"))
    token, _ = await token_for(api)
    return token


async def status_of(call: Any) -> tuple[int, dict[str, Any]]:
    with pytest.raises(ApiException) as raised:
        await call
    return raised.value.status, json.loads(raised.value.body)


async def test_a_token_request_answers_a_bound_token_expiring_when_asked(
    api: k8s.ApiClient, kube_cluster: KubeCluster
) -> None:
    await k8s.CoreV1Api(api).create_namespaced_service_account(NS, {"metadata": {"name": SA}})
    before = kube_cluster.emulator.clock.now()
    token, expires = await token_for(api, seconds=7200)
    assert token.count(".") == 2  # a JWT
    expected = before + datetime.timedelta(seconds=7200)
    assert abs((expires - expected).total_seconds()) <= 2

    status, body = await status_of(token_for(api, seconds=599))
    assert status == 422
    assert body["message"] == (
        'TokenRequest.authentication.k8s.io "student" is invalid: spec.expirationSeconds: '
        "Invalid value: 599: may not specify a duration less than 10 minutes"
    )
    status, body = await status_of(token_for(api, name="nobody"))
    assert (status, body["message"]) == (404, 'serviceaccounts "nobody" not found')


async def test_the_token_is_its_service_account_and_rbac_decides(student: str, kube_cluster: KubeCluster) -> None:
    async with kube_cluster.api_client(token=student) as client:
        core = k8s.CoreV1Api(client)
        assert (await core.list_namespaced_pod(NS)).items == []
        status, body = await status_of(core.list_namespaced_pod(OTHER))
        assert status == 403
        assert body == {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": f'pods is forbidden: User "{USER}" cannot list resource "pods" in API group "" '
            f'in the namespace "{OTHER}"',
            "reason": "Forbidden",
            "details": {"kind": "pods"},
            "code": 403,
        }
        status, body = await status_of(core.patch_namespace(NS, {"metadata": {"labels": {"x": "y"}}}))
        assert (status, body["message"]) == (
            403,
            f'namespaces "{NS}" is forbidden: User "{USER}" cannot patch resource "namespaces" in API group "" '
            f'in the namespace "{NS}"',
        )
        status, body = await status_of(core.list_node())
        assert body["message"] == (
            f'nodes is forbidden: User "{USER}" cannot list resource "nodes" in API group "" at the cluster scope'
        )
        status, body = await status_of(core.read_namespaced_service_account(SA, NS))
        assert body["message"].startswith(f'serviceaccounts "{SA}" is forbidden: User "{USER}" cannot get resource')
        rbac = k8s.RbacAuthorizationV1Api(client)
        status, body = await status_of(rbac.create_namespaced_role_binding(NS, role_binding("more", "cluster-admin")))
        assert body["message"] == (
            f'rolebindings.rbac.authorization.k8s.io is forbidden: User "{USER}" cannot create resource '
            f'"rolebindings" in API group "rbac.authorization.k8s.io" in the namespace "{NS}"'
        )
        assert body["details"] == {"kind": "rolebindings", "group": "rbac.authorization.k8s.io"}


async def test_subresources_resource_names_and_non_resource_urls(
    api: k8s.ApiClient, student: str, kube_cluster: KubeCluster
) -> None:
    rbac = k8s.RbacAuthorizationV1Api(api)
    rules = [
        {"apiGroups": ["apps"], "resources": ["deployments/scale"], "verbs": ["get"]},
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"], "resourceNames": ["settings"]},
        {"nonResourceURLs": ["/metrics", "/logs/*"], "verbs": ["get"]},
    ]
    await rbac.create_cluster_role(cluster_role("narrow", rules))
    await rbac.create_namespaced_role_binding(NS, role_binding("narrow", "narrow"))
    async with kube_cluster.api_client(token=student) as client:
        core = k8s.CoreV1Api(client)
        status, body = await status_of(core.read_namespaced_config_map("other", NS))
        assert body["message"] == (
            f'configmaps "other" is forbidden: User "{USER}" cannot get resource "configmaps" in API group "" '
            f'in the namespace "{NS}"'
        )
        status, _ = await status_of(core.read_namespaced_config_map("settings", NS))
        assert status == 404  # allowed, and not there
        status, _ = await status_of(core.delete_namespaced_config_map("settings", NS))
        assert status == 403
        # pods/log is granted (no such Pod: 404), pods/exec is not
        assert (await status_of(core.read_namespaced_pod_log("web", NS)))[0] == 404
        status, body = await status_of(core.connect_get_namespaced_pod_exec("web", NS, command=["ls"]))
        assert status == 403
        assert '"pods/exec"' in body["message"]
        # deployments/scale: get granted, patch not
        apps = k8s.AppsV1Api(client)
        assert (await status_of(apps.read_namespaced_deployment_scale("web", NS)))[0] == 404
        status, body = await status_of(apps.patch_namespaced_deployment_scale("web", NS, {"spec": {"replicas": 2}}))
        assert body["message"] == (
            f'deployments.apps "web" is forbidden: User "{USER}" cannot patch resource "deployments/scale" '
            f'in API group "apps" in the namespace "{NS}"'
        )
        # a non-resource path: /logs/* is a prefix, /version comes from the bootstrap roles, /debug is nobody's
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{kube_cluster.url}/debug/pprof", headers={"Authorization": f"Bearer {student}"}) as response,
        ):
            answer = await response.json()
        assert (response.status, answer["message"]) == (
            403,
            f'forbidden: User "{USER}" cannot get path "/debug/pprof"',
        )
        assert (await k8s.VersionApi(client).get_code()).git_version == "v1.33.1"


async def test_a_deleted_or_recreated_service_account_invalidates_its_tokens(
    api: k8s.ApiClient, student: str, kube_cluster: KubeCluster
) -> None:
    core = k8s.CoreV1Api(api)
    await core.delete_namespaced_service_account(SA, NS)
    await core.create_namespaced_service_account(NS, {"metadata": {"name": SA}})
    async with kube_cluster.api_client(token=student) as client:
        status, body = await status_of(k8s.CoreV1Api(client).list_namespaced_pod(NS))
    assert (status, body) == (
        401,
        {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": "Unauthorized",
            "reason": "Unauthorized",
            "code": 401,
        },
    )
    fresh, _ = await token_for(api)
    async with kube_cluster.api_client(token=fresh) as client:
        assert (await k8s.CoreV1Api(client).list_namespaced_pod(NS)).items == []


async def test_a_token_expires_on_the_simulated_clock(
    api: k8s.ApiClient, student: str, kube_cluster: KubeCluster
) -> None:
    short, expires = await token_for(api, seconds=600)
    async with kube_cluster.api_client(token=short) as client:
        core = k8s.CoreV1Api(client)
        await core.list_namespaced_pod(NS)
        kube_cluster.advance(601)
        status, _ = await status_of(core.list_namespaced_pod(NS))
        assert status == 401
    assert parse_time(kube_cluster.emulator.clock.stamp()) > expires


async def test_a_binding_to_a_missing_role_says_so_in_the_denial(
    api: k8s.ApiClient, student: str, kube_cluster: KubeCluster
) -> None:
    await k8s.RbacAuthorizationV1Api(api).create_namespaced_role_binding(
        NS, role_binding("gone", "secrets-reader", kind="Role")
    )
    async with kube_cluster.api_client(token=student) as client:
        _, body = await status_of(k8s.CoreV1Api(client).list_namespaced_secret(NS))
    assert body["message"].endswith(': RBAC: role.rbac.authorization.k8s.io "secrets-reader" not found')


async def test_aggregated_cluster_roles_collect_the_rules_of_the_roles_they_select(
    api: k8s.ApiClient, student: str, kube_cluster: KubeCluster
) -> None:
    rbac = k8s.RbacAuthorizationV1Api(api)
    await rbac.create_cluster_role(
        {"metadata": {"name": "team"}, "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"to-team": "1"}}]}}
    )
    await rbac.create_namespaced_role_binding(NS, role_binding("team", "team"))
    async with kube_cluster.api_client(token=student) as client:
        core = k8s.CoreV1Api(client)
        assert (await status_of(core.list_namespaced_config_map(NS)))[0] == 403
        services = {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["list"]}
        await rbac.create_cluster_role(cluster_role("configmaps-for-team", [services], {"to-team": "1"}))
        assert (await rbac.read_cluster_role("team")).rules[0].resources == ["configmaps"]
        assert [c.metadata.name for c in (await core.list_namespaced_config_map(NS)).items] == ["kube-root-ca.crt"]
        await rbac.delete_cluster_role("configmaps-for-team")
        assert (await rbac.read_cluster_role("team")).rules in (None, [])
        assert (await status_of(core.list_namespaced_config_map(NS)))[0] == 403


async def test_a_self_subject_access_review_answers_from_the_same_authorizer(
    api: k8s.ApiClient, student: str, kube_cluster: KubeCluster
) -> None:
    def review(namespace: str, verb: str, resource: str, group: str = "") -> dict[str, Any]:
        attributes = {"namespace": namespace, "verb": verb, "resource": resource, "group": group}
        return {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": attributes},
        }

    async with kube_cluster.api_client(token=student) as client:
        authz = k8s.AuthorizationV1Api(client)
        allowed = await authz.create_self_subject_access_review(review(NS, "create", "deployments", "apps"))
        assert allowed.status.allowed is True
        assert allowed.status.reason == (
            f'RBAC: allowed by RoleBinding "student-works/{NS}" of ClusterRole "pod-worker" '
            f'to ServiceAccount "{SA}/{NS}"'
        )
        denied = await authz.create_self_subject_access_review(review(OTHER, "list", "pods"))
        assert (denied.status.allowed, denied.status.reason) == (False, None)
    async with kube_cluster.api_client() as admin:
        everything = await k8s.AuthorizationV1Api(admin).create_self_subject_access_review(
            review(OTHER, "delete", "nodes")
        )
        assert everything.status.allowed is True


def web_deployment() -> dict[str, Any]:
    labels = {"app": "web"}
    template = {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "web", "image": "nginx:1.27-alpine"}]}}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {"replicas": 1, "selector": {"matchLabels": labels}, "template": template},
    }


async def test_the_real_kubectl_with_a_bound_token_over_tls(tmp_path: Path) -> None:
    """kubectl sends a kubeconfig's token only over TLS: the cluster serves HTTPS, the kubeconfig has its CA."""
    async with KubeCluster(tls=True) as kube_cluster, kube_cluster.api_client() as api:
        await k8s.CoreV1Api(api).create_namespace({"metadata": {"name": NS}})
        student = await make_student(api)
        await using_kubectl(kube_cluster, student, tmp_path)


async def using_kubectl(kube_cluster: KubeCluster, student: str, tmp_path: Path) -> None:
    kubectl = Kubectl(
        kube_cluster.write_kubeconfig(tmp_path / "kubeconfig", token=student, namespace=NS),
        cache_dir=tmp_path / "cache",
    )
    assert (await kubectl("auth", "can-i", "create", "deployments")).strip() == "yes"
    with pytest.raises(KubectlFailed) as refused:
        await kubectl("auth", "can-i", "list", "pods", "-n", OTHER)
    assert refused.value.code == 1
    (tmp_path / "web.yaml").write_text(json.dumps(web_deployment()))
    await kubectl("apply", "--validate=false", "-f", str(tmp_path / "web.yaml"))
    assert await kubectl("get", "deployments", "-o", "name") == "deployment.apps/web\n"
    with pytest.raises(KubectlFailed) as forbidden:
        await kubectl("get", "pods", "-n", OTHER)
    assert (
        f'Error from server (Forbidden): pods is forbidden: User "{USER}" cannot list resource "pods" in API group "" '
        f'in the namespace "{OTHER}"'
    ) in forbidden.value.stderr
    with pytest.raises(KubectlFailed) as unlabelled:
        await kubectl("label", "namespace", NS, "team=mine")
    assert unlabelled.value.stderr == (
        f'Error from server (Forbidden): namespaces "{NS}" is forbidden: User "{USER}" cannot get resource '
        f'"namespaces" in API group "" in the namespace "{NS}"\n'
    )
