"""bot.team_access: a team's namespace, ServiceAccount and kubeconfig, made by the bot's own token (the chart's
admission policy applies) on a cluster where the chart's RBAC is installed; the kubeconfig then used as a student
would, with the official client and the real kubectl, the API server deciding with RBAC what it may do."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes.aio import client as k8s
from kubernetes.aio import config as k8s_config
from kubernetes.aio.client.exceptions import ApiException

from bot.cluster import Cluster
from bot.errors import ClusterForbidden
from bot.team_access import AccessSetup, NamespaceTaken, TeamAccess, TeamAccessUnavailable
from bot.team_namespace import MANAGED_BY, TEAM_LABEL
from tests.emulators.admission import RELEASE_NAMESPACE
from tests.emulators.fixtures import bot_cluster, chart_kube_settings, install_chart
from tests.emulators.kube import KubeCluster
from tests.emulators.kubectl import Kubectl, KubectlFailed

BLUE, RED = "kubecamp-blue", "kubecamp-red"
USER = f"system:serviceaccount:{RELEASE_NAMESPACE}:{BLUE}"


@pytest.fixture
async def tls_cluster() -> AsyncIterator[KubeCluster]:
    """HTTPS, as kubectl sends a kubeconfig's token only over TLS; the chart installed."""
    async with KubeCluster(tls=True) as kube:
        install_chart(kube)
        yield kube


@pytest.fixture
async def bot(tls_cluster: KubeCluster) -> AsyncIterator[Cluster]:
    cluster = bot_cluster(tls_cluster)
    yield cluster
    await cluster.close()


def team_access(kube: KubeCluster, cluster: Cluster, **settings: Any) -> TeamAccess:
    kube_settings = chart_kube_settings(**{"team_server": kube.url, **settings})
    return TeamAccess(cluster=cluster, setup=AccessSetup.of(kube_settings), namespaces=kube_settings.namespace_setup)


@pytest.fixture
def access(tls_cluster: KubeCluster, bot: Cluster) -> TeamAccess:
    return team_access(tls_cluster, bot)


async def student_client(kubeconfig_text: str, tmp_path: Path) -> k8s.ApiClient:
    """The official client loading the kubeconfig file as a student's program would."""
    path = tmp_path / "student.kubeconfig"
    path.write_text(kubeconfig_text)
    configuration = k8s.Configuration()
    await k8s_config.load_kube_config(config_file=str(path), client_configuration=configuration, persist_config=False)
    return k8s.ApiClient(configuration)


def web(image: str) -> dict[str, Any]:
    labels = {"app": "web"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "web", "image": image}]}},
        },
    }


async def status_of(call: Any) -> tuple[int, str]:
    with pytest.raises(ApiException) as raised:
        await call
    return raised.value.status, json.loads(raised.value.body)["message"]


async def test_opening_makes_the_namespace_the_account_and_the_binding(
    access: TeamAccess, tls_cluster: KubeCluster
) -> None:
    await access.open("blue", BLUE)
    await access.open("blue", BLUE)  # again: nothing changes, nothing fails
    namespace = tls_cluster.get("namespaces", None, BLUE)
    assert namespace is not None and namespace["metadata"]["labels"][TEAM_LABEL] == "blue"
    assert tls_cluster.get("resourcequotas", BLUE, "kubecamp-bot") is not None  # set up as ensure_namespace does
    account = tls_cluster.get("serviceaccounts", RELEASE_NAMESPACE, BLUE)
    assert account is not None
    assert account["metadata"]["labels"] == {MANAGED_BY: "kubecamp-bot", TEAM_LABEL: "blue"}
    binding = tls_cluster.get("rolebindings", BLUE, "kubecamp-team-access")
    assert binding is not None
    assert binding["roleRef"]["name"] == "kubecamp-kubecamp-bot-team-access"
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": BLUE, "namespace": RELEASE_NAMESPACE}]


async def test_the_kubeconfig_works_as_a_student_would_use_it(
    access: TeamAccess, tls_cluster: KubeCluster, tmp_path: Path
) -> None:
    await access.open("red", RED)
    pod = {"metadata": {"name": "red-work"}, "spec": {"containers": [{"name": "c", "image": "nginx:1.27-alpine"}]}}
    tls_cluster.create("pods", pod, RED)
    made = await access.kubeconfig("blue", BLUE)
    config = yaml.safe_load(made.text)
    assert config["contexts"][0]["context"] == {"cluster": "kubecamp", "user": BLUE, "namespace": BLUE}
    assert config["clusters"][0]["cluster"]["server"] == tls_cluster.url
    assert made.filename == "kubecamp-blue.kubeconfig"

    async with await student_client(made.text, tmp_path) as api:
        apps, core = k8s.AppsV1Api(api), k8s.CoreV1Api(api)
        # The team makes a broken Deployment and fixes it, in its namespace.
        await apps.create_namespaced_deployment(BLUE, web("nginx:1.27-alpinee"))
        await apps.patch_namespaced_deployment("web", BLUE, {"spec": {"template": {"spec": {"containers": [
            {"name": "web", "image": "nginx:1.27-alpine"}]}}}})  # fmt: skip
        assert [p.status.phase for p in (await core.list_namespaced_pod(BLUE)).items] == ["Running"]
        assert len((await core.list_node()).items) == 3
        assert [s.metadata.name for s in (await k8s.StorageV1Api(api).list_storage_class()).items] == ["standard"]
        assert (await core.list_namespaced_event(BLUE)).items
        # A build's alerting rules as the operator reads them (Lab 5's alerting criterion).
        rule = {
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "PrometheusRule",
            "metadata": {"name": "web-app-alerts"},
            "spec": {"groups": [{"name": "web-app", "rules": [{"alert": "WebAppDown", "expr": "up == 0"}]}]},
        }
        custom = k8s.CustomObjectsApi(api)
        await custom.create_namespaced_custom_object("monitoring.coreos.com", "v1", BLUE, "prometheusrules", rule)
        status, said = await status_of(core.list_namespaced_pod(RED))
        assert (status, said) == (
            403,
            f'pods is forbidden: User "{USER}" cannot list resource "pods" in API group "" in the namespace "{RED}"',
        )
        status, said = await status_of(core.patch_namespace(BLUE, {"metadata": {"labels": {TEAM_LABEL: "red"}}}))
        assert status == 403 and 'cannot patch resource "namespaces"' in said
        binding = {
            "metadata": {"name": "more"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [{"kind": "ServiceAccount", "name": BLUE, "namespace": RELEASE_NAMESPACE}],
        }
        status, said = await status_of(k8s.RbacAuthorizationV1Api(api).create_namespaced_role_binding(BLUE, binding))
        assert status == 403 and 'cannot create resource "rolebindings"' in said
        status, _ = await status_of(core.create_namespaced_service_account_token(BLUE, RELEASE_NAMESPACE, {"spec": {}}))
        assert status == 403
    assert tls_cluster.get("namespaces", None, BLUE)["metadata"]["labels"][TEAM_LABEL] == "blue"  # type: ignore[index]


async def test_the_real_kubectl_with_the_kubeconfig_and_a_rotation(
    access: TeamAccess, tls_cluster: KubeCluster, tmp_path: Path
) -> None:
    await access.open("red", RED)
    made = await access.kubeconfig("blue", BLUE)
    (tmp_path / "blue.kubeconfig").write_text(made.text)
    kubectl = Kubectl(tmp_path / "blue.kubeconfig", cache_dir=tmp_path / "cache")
    (tmp_path / "web.yaml").write_text(json.dumps(web("nginx:1.27-alpinee")))
    await kubectl("apply", "--validate=false", "-f", str(tmp_path / "web.yaml"))
    await kubectl("set", "image", "deployment/web", "web=nginx:1.27-alpine")
    assert await kubectl("get", "deployment", "web", "-o", "jsonpath={.status.readyReplicas}") == "1"
    assert "node/kind-worker" in await kubectl("get", "nodes", "-o", "name")
    for args, wording in [
        (("get", "pods", "-n", RED), f'cannot list resource "pods" in API group "" in the namespace "{RED}"'),
        (("label", "namespace", BLUE, "x=y"), 'cannot patch resource "namespaces"'),
        (("create", "rolebinding", "x", "--clusterrole=admin", f"--serviceaccount={RELEASE_NAMESPACE}:{BLUE}"),
         'cannot create resource "rolebindings"'),
    ]:  # fmt: skip
        with pytest.raises(KubectlFailed) as refused:
            await kubectl(*args)
        assert f'User "{USER}" {wording}' in refused.value.stderr, args
    assert "x" not in tls_cluster.get("namespaces", None, BLUE)["metadata"]["labels"]  # type: ignore[index]

    await access.rotate("blue", BLUE)
    with pytest.raises(KubectlFailed) as revoked:
        await kubectl("get", "pods")
    assert "Unauthorized" in revoked.value.stderr
    fresh = await access.kubeconfig("blue", BLUE)
    (tmp_path / "blue.kubeconfig").write_text(fresh.text)
    assert "web-" in await kubectl("get", "pods", "-o", "name")


async def test_revoking_deletes_the_account_and_only_a_teams_own(access: TeamAccess, tls_cluster: KubeCluster) -> None:
    made = await access.kubeconfig("blue", BLUE)
    await access.revoke("blue", BLUE)
    await access.revoke("blue", BLUE)  # gone already: nothing to do
    token = yaml.safe_load(made.text)["users"][0]["user"]["token"]
    async with tls_cluster.api_client(token=token) as api:
        status, said = await status_of(k8s.CoreV1Api(api).list_namespaced_pod(BLUE))
    assert (status, said) == (401, "Unauthorized")
    # An account of that name that is not the team's is never touched.
    tls_cluster.create("serviceaccounts", {"metadata": {"name": RED}}, RELEASE_NAMESPACE)
    with pytest.raises(NamespaceTaken) as taken:
        await access.revoke("red", RED)
    assert taken.value.message.key == "team.account_taken"
    assert tls_cluster.get("serviceaccounts", RELEASE_NAMESPACE, RED) is not None


async def test_an_existing_namespace_is_adopted_only_when_asked(tls_cluster: KubeCluster) -> None:
    tls_cluster.create("namespaces", {"metadata": {"name": BLUE, "labels": {"owner": "someone"}}})
    async with tls_cluster.api_client() as admin_api:  # the instructor's own kubeconfig: the cluster admin
        admin = Cluster(api=admin_api, timeout=10)
        access = team_access(tls_cluster, admin)
        with pytest.raises(NamespaceTaken) as refused:
            await access.open("blue", BLUE)
        assert refused.value.message.key == "team.namespace_exists"
        assert "--adopt" in str(refused.value)
        assert tls_cluster.get("serviceaccounts", RELEASE_NAMESPACE, BLUE) is None, "nothing changed"
        await access.open("blue", BLUE, adopt=True)
        labels = tls_cluster.get("namespaces", None, BLUE)["metadata"]["labels"]  # type: ignore[index]
        assert labels[MANAGED_BY] == "kubecamp-bot" and labels[TEAM_LABEL] == "blue" and labels["owner"] == "someone"
        assert tls_cluster.get("rolebindings", BLUE, "kubecamp-team-access") is not None
        with pytest.raises(NamespaceTaken) as other:
            await access.open("red", BLUE, adopt=True)
        assert other.value.message.key == "team.namespace_of_other"


async def test_the_bot_itself_may_not_adopt(access: TeamAccess, tls_cluster: KubeCluster) -> None:
    """Relabelling a namespace is the admission policy's to refuse to the bot's token, whatever it is told."""
    tls_cluster.create("namespaces", {"metadata": {"name": BLUE}})
    with pytest.raises(ClusterForbidden):
        await access.open("blue", BLUE, adopt=True)
    assert MANAGED_BY not in (tls_cluster.get("namespaces", None, BLUE)["metadata"].get("labels") or {})  # type: ignore[index]


async def test_without_settings_there_are_no_kubeconfigs(tls_cluster: KubeCluster, bot: Cluster) -> None:
    plain = TeamAccess(cluster=bot, setup=None, namespaces=chart_kube_settings().namespace_setup)
    await plain.open("blue", BLUE)  # the namespace still
    assert tls_cluster.get("namespaces", None, BLUE) is not None
    with pytest.raises(TeamAccessUnavailable) as off:
        await plain.kubeconfig("blue", BLUE)
    assert off.value.message.key == "team.access_off"
    no_server = team_access(tls_cluster, bot, team_server=None)
    with pytest.raises(TeamAccessUnavailable) as unset:
        await no_server.kubeconfig("blue", BLUE)
    assert unset.value.message.key == "team.access_no_server"


async def test_the_token_expires_after_the_hours_set(tls_cluster: KubeCluster, bot: Cluster, tmp_path: Path) -> None:
    made = await team_access(tls_cluster, bot, team_token_hours=2).kubeconfig("blue", BLUE)
    async with await student_client(made.text, tmp_path) as api:
        await k8s.CoreV1Api(api).list_namespaced_pod(BLUE)
        tls_cluster.advance(2 * 3600 - 60)
        await k8s.CoreV1Api(api).list_namespaced_pod(BLUE)
        tls_cluster.advance(120)
        assert (await status_of(k8s.CoreV1Api(api).list_namespaced_pod(BLUE)))[0] == 401


async def test_the_token_is_never_logged(access: TeamAccess, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    made = await access.kubeconfig("blue", BLUE)
    token = yaml.safe_load(made.text)["users"][0]["user"]["token"]
    assert any("issued a kubeconfig for team blue" in r.getMessage() for r in caplog.records)
    for record in caplog.records:
        assert token not in record.getMessage() and token not in str(record.args), record
    assert token not in repr(made)
