"""The chart's ValidatingAdmissionPolicy: its CEL over AdmissionReview requests (cel-python), then the attacks
a stolen bot token would try, against the emulated API server that evaluates the same policy.

The policy must hold the bot's ServiceAccount inside the namespaces it made, and touch no one else.
"""

from __future__ import annotations

import copy
import functools
import json
from typing import Any

import pytest
from kubernetes.aio import client as k8s
from kubernetes.aio.client.exceptions import ApiException

from bot.team_namespace import NamespaceSetup
from tests.emulators.admission import BOT_USER, ValidatingPolicy, chart_settings
from tests.emulators.kube import BOT_TOKEN, KubeCluster
from tests.helm.test_chart import (
    CLUSTER_ROLE,
    FULLNAME,
    NAMESPACE,
    REQUIRED,
    TEAM_ACCESS,
    TEAM_ROLE,
    merged,
    one,
    render,
)

pytest_plugins = ["tests.emulators.fixtures"]

BOT = f"system:serviceaccount:{NAMESPACE}:{FULLNAME}"  # the chart rendered as release "kubecamp"
SETUP = NamespaceSetup(team_role=TEAM_ROLE, service_account=(NAMESPACE, FULLNAME))
MANAGED = SETUP.namespace("kubecamp-blue", team="blue")
KUBE_SYSTEM = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-system"}}
DENIED = f"ValidatingAdmissionPolicy '{CLUSTER_ROLE}' with binding '{CLUSTER_ROLE}' denied request: "


def chart_policy(values: dict[str, Any] | None = None) -> ValidatingPolicy:
    objects = render(merged(REQUIRED, values or {}))
    return ValidatingPolicy(one(objects, "ValidatingAdmissionPolicy"), one(objects, "ValidatingAdmissionPolicyBinding"))


@functools.cache
def default_policy() -> ValidatingPolicy:
    """The policy as the chart renders it with the values it requires: made when a test first asks (rendering it
    and compiling its CEL takes a third of a second, which every test process paid while collecting)."""
    return chart_policy()


def review(
    operation: str,
    api_version: str,
    resource: str,
    obj: dict[str, Any] | None,
    old: dict[str, Any] | None = None,
    *,
    user: str = BOT,
    subresource: str = "",
) -> dict[str, Any]:
    """An AdmissionReview as the API server sends it for a write."""
    group, _, version = api_version.rpartition("/")
    meta = (obj or old or {})["metadata"]
    kind = (obj or old or {})["kind"]
    namespaced = resource != "namespaces"
    namespace = meta.get("namespace", "") if namespaced else ("" if operation == "CREATE" else meta["name"])
    return {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
            "kind": {"group": group, "version": version, "kind": kind},
            "resource": {"group": group, "version": version, "resource": resource},
            "subResource": subresource,
            "requestKind": {"group": group, "version": version, "kind": kind},
            "requestResource": {"group": group, "version": version, "resource": resource},
            "name": meta["name"],
            "namespace": namespace,
            "operation": operation,
            "userInfo": {"username": user, "groups": ["system:serviceaccounts", "system:authenticated"]},
            "object": obj,
            "oldObject": old,
            "dryRun": False,
        },
    }


def decide(
    admission: dict[str, Any], namespaces: dict[str, dict[str, Any]], policy: ValidatingPolicy | None = None
) -> str:
    """ "allowed", or the denial of `policy` (the chart's by default); the namespace object comes from `namespaces`
    as the API server's informer has it."""
    request = admission["request"]
    policy = default_policy() if policy is None else policy
    namespace = None if request["resource"]["resource"] == "namespaces" else namespaces.get(request["namespace"])
    denial = policy.denial(request, request["object"], request["oldObject"], namespace)
    return "allowed" if denial is None else denial


def obj(api_version: str, kind: str, name: str, namespace: str | None, **fields: Any) -> dict[str, Any]:
    meta = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {"apiVersion": api_version, "kind": kind, "metadata": meta, **fields}


DEPLOYMENT = {"replicas": 1, "selector": {"matchLabels": {"app": "x"}}}
PRIVILEGED_POD_TEMPLATE = {
    "template": {
        "metadata": {"labels": {"app": "x"}},
        "spec": {"serviceAccountName": "kube-proxy", "containers": [{"name": "x", "image": "x"}]},
    }
}
NAMESPACES = {"kubecamp-blue": MANAGED, "kube-system": KUBE_SYSTEM, "default": {"metadata": {"name": "default"}}}


def relabelled(namespace: dict[str, Any], **labels: str | None) -> dict[str, Any]:
    changed = copy.deepcopy(namespace)
    for key, value in labels.items():
        label = {"managed_by": "app.kubernetes.io/managed-by", "team": "kubecamp.io/team"}.get(
            key, "pod-security.kubernetes.io/enforce"
        )
        if value is None:
            changed["metadata"]["labels"].pop(label)
        else:
            changed["metadata"]["labels"][label] = value
    return changed


BINDING = SETUP.objects("kubecamp-blue")[0][1]
TEAM_LABELS = {"app.kubernetes.io/managed-by": "kubecamp-bot", "kubecamp.io/team": "blue"}
TEAM_ACCOUNT = {
    "apiVersion": "v1",
    "kind": "ServiceAccount",
    "metadata": {"name": "kubecamp-blue", "namespace": NAMESPACE, "labels": TEAM_LABELS},
}
TOKEN_REQUEST = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "metadata": {
    "name": "kubecamp-blue", "namespace": NAMESPACE}, "spec": {"expirationSeconds": 36000}}  # fmt: skip
ACCESS_BINDING = {
    "apiVersion": "rbac.authorization.k8s.io/v1",
    "kind": "RoleBinding",
    "metadata": {"name": "kubecamp-team-access", "namespace": "kubecamp-blue"},
    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": TEAM_ACCESS},
    "subjects": [{"kind": "ServiceAccount", "name": "kubecamp-blue", "namespace": NAMESPACE}],
}


def account(name: str, namespace: str = NAMESPACE, **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
    }


def access_binding(**changes: Any) -> dict[str, Any]:
    return {**ACCESS_BINDING, **changes}


ALLOWED = {
    "a Deployment in its namespace": review(
        "CREATE", "apps/v1", "deployments", obj("apps/v1", "Deployment", "web", "kubecamp-blue", spec=DEPLOYMENT)
    ),
    "a scale in its namespace": review(
        "UPDATE",
        "apps/v1",
        "deployments",
        obj("apps/v1", "Deployment", "web", "kubecamp-blue", spec=DEPLOYMENT),
        obj("apps/v1", "Deployment", "web", "kubecamp-blue", spec=DEPLOYMENT),
        subresource="scale",
    ),
    "a ConfigMap deleted in its namespace": review(
        "DELETE", "v1", "configmaps", None, obj("v1", "ConfigMap", "app-config", "kubecamp-blue")
    ),
    "a team namespace": review("CREATE", "v1", "namespaces", MANAGED),
    "a team namespace enforcing restricted": review(
        "CREATE", "v1", "namespaces", relabelled(MANAGED, enforce="restricted")
    ),
    "a label of its own added to its namespace": review(
        "UPDATE",
        "v1",
        "namespaces",
        {
            **MANAGED,
            "metadata": {**MANAGED["metadata"], "labels": {**MANAGED["metadata"]["labels"], "example.com/x": "y"}},
        },
        MANAGED,
    ),
    "its namespace deleted": review("DELETE", "v1", "namespaces", None, MANAGED),
    "the team role bound to itself": review("CREATE", "rbac.authorization.k8s.io/v1", "rolebindings", BINDING),
    "the quota in its namespace": review("CREATE", "v1", "resourcequotas", SETUP.objects("kubecamp-blue")[1][1]),
    "a team's ServiceAccount": review("CREATE", "v1", "serviceaccounts", TEAM_ACCOUNT),
    "a team's ServiceAccount deleted (its tokens revoked)": review(
        "DELETE", "v1", "serviceaccounts", None, TEAM_ACCOUNT
    ),
    "a token of a team's ServiceAccount": review("CREATE", "v1", "serviceaccounts", TOKEN_REQUEST, subresource="token"),
    "the team-access role bound to the team's account": review(
        "CREATE", "rbac.authorization.k8s.io/v1", "rolebindings", ACCESS_BINDING
    ),
}

DENIED_REQUESTS = {
    "an unlabelled ServiceAccount named like a team's": (
        review("CREATE", "v1", "serviceaccounts", account("kubecamp-blue")),
        "a team's ServiceAccount kubecamp-bot makes or deletes is labelled",
    ),
    "its own ServiceAccount deleted": (
        review("DELETE", "v1", "serviceaccounts", None, account(FULLNAME, **{"app.kubernetes.io/managed-by": "Helm"})),
        "a team's ServiceAccount kubecamp-bot makes or deletes is labelled",
    ),
    "a ServiceAccount outside the team prefix": (
        review("CREATE", "v1", "serviceaccounts", account("admin", **TEAM_LABELS)),
        "writes only in namespaces labelled",
    ),
    "a token of the namespace's default ServiceAccount": (
        review(
            "CREATE",
            "v1",
            "serviceaccounts",
            {**TOKEN_REQUEST, "metadata": {"name": "default", "namespace": NAMESPACE}},
            subresource="token",
        ),
        "writes only in namespaces labelled",
    ),
    "a labelled ServiceAccount in kube-system": (
        review("CREATE", "v1", "serviceaccounts", account("kubecamp-blue", "kube-system", **TEAM_LABELS)),
        "writes only in namespaces labelled",
    ),
    "the team-access role bound to another team's account": (
        review(
            "CREATE",
            "rbac.authorization.k8s.io/v1",
            "rolebindings",
            access_binding(subjects=[{"kind": "ServiceAccount", "name": "kubecamp-red", "namespace": NAMESPACE}]),
        ),
        "binds the ClusterRole",
    ),
    "the team-access role bound to every ServiceAccount": (
        review(
            "CREATE",
            "rbac.authorization.k8s.io/v1",
            "rolebindings",
            access_binding(
                subjects=[{"kind": "Group", "name": "system:serviceaccounts", "apiGroup": "rbac.authorization.k8s.io"}]
            ),
        ),
        "binds the ClusterRole",
    ),
    "the team-access role bound to the team's account and a student": (
        review(
            "CREATE",
            "rbac.authorization.k8s.io/v1",
            "rolebindings",
            access_binding(
                subjects=[
                    *ACCESS_BINDING["subjects"],
                    {"kind": "User", "name": "student", "apiGroup": "rbac.authorization.k8s.io"},
                ]
            ),
        ),
        "binds the ClusterRole",
    ),
    "a Deployment in kube-system with a privileged ServiceAccount": (
        review(
            "CREATE",
            "apps/v1",
            "deployments",
            obj("apps/v1", "Deployment", "x", "kube-system", spec={**DEPLOYMENT, **PRIVILEGED_POD_TEMPLATE}),
        ),
        "writes only in namespaces labelled app.kubernetes.io/managed-by=kubecamp-bot",
    ),
    "the coredns ConfigMap": (
        review(
            "UPDATE",
            "v1",
            "configmaps",
            obj("v1", "ConfigMap", "coredns", "kube-system", data={"Corefile": ". { forward . 6.6.6.6 }"}),
            obj("v1", "ConfigMap", "coredns", "kube-system", data={"Corefile": ". { forward . /etc/resolv.conf }"}),
        ),
        "writes only in namespaces labelled",
    ),
    "a Service with externalIPs (CVE-2020-8554)": (
        review(
            "CREATE",
            "v1",
            "services",
            obj("v1", "Service", "mitm", "default", spec={"externalIPs": ["8.8.8.8"], "ports": [{"port": 53}]}),
        ),
        "writes only in namespaces labelled",
    ),
    "a Prometheus the operator turns into Pods": (
        review(
            "CREATE",
            "monitoring.coreos.com/v1",
            "prometheuses",
            obj(
                "monitoring.coreos.com/v1", "Prometheus", "p", "default", spec={"serviceAccountName": "prometheus-k8s"}
            ),
        ),
        "writes only in namespaces labelled",
    ),
    "a PVC deleted elsewhere": (
        review("DELETE", "v1", "persistentvolumeclaims", None, obj("v1", "PersistentVolumeClaim", "data", "default")),
        "writes only in namespaces labelled",
    ),
    "a RoleBinding outside its namespaces": (
        review("CREATE", "rbac.authorization.k8s.io/v1", "rolebindings", SETUP.objects("kube-system")[0][1]),
        "writes only in namespaces labelled",
    ),
    "a namespace without its labels": (
        review("CREATE", "v1", "namespaces", obj("v1", "Namespace", "kubecamp-blue", None)),
        "a namespace kubecamp-bot creates is named kubecamp-",
    ),
    "a namespace without the team label": (
        review("CREATE", "v1", "namespaces", relabelled(MANAGED, team=None)),
        "a namespace kubecamp-bot creates",
    ),
    "a privileged namespace": (
        review("CREATE", "v1", "namespaces", relabelled(MANAGED, enforce="privileged")),
        "a namespace kubecamp-bot creates",
    ),
    "a labelled namespace outside the prefix": (
        review("CREATE", "v1", "namespaces", {**MANAGED, "metadata": {**MANAGED["metadata"], "name": "kube-x"}}),
        "a namespace kubecamp-bot creates",
    ),
    "its label put on a namespace": (
        review(
            "UPDATE",
            "v1",
            "namespaces",
            {
                **KUBE_SYSTEM,
                "metadata": {
                    "name": "kube-system",
                    "labels": {"app.kubernetes.io/managed-by": "kubecamp-bot", "kubecamp.io/team": "x"},
                },
            },
            KUBE_SYSTEM,
        ),
        "never changes the labels",
    ),
    "its label taken off its namespace": (
        review("UPDATE", "v1", "namespaces", relabelled(MANAGED, managed_by=None), MANAGED),
        "never changes the labels",
    ),
    "the team moved": (
        review("UPDATE", "v1", "namespaces", relabelled(MANAGED, team="red"), MANAGED),
        "never changes the labels",
    ),
    "Pod Security lifted": (
        review("UPDATE", "v1", "namespaces", relabelled(MANAGED, enforce="privileged"), MANAGED),
        "never changes the labels",
    ),
    "kube-system deleted": (
        review("DELETE", "v1", "namespaces", None, KUBE_SYSTEM),
        "deletes only namespaces labelled",
    ),
    "cluster-admin bound in its namespace": (
        review(
            "CREATE",
            "rbac.authorization.k8s.io/v1",
            "rolebindings",
            {**BINDING, "roleRef": {**BINDING["roleRef"], "name": "cluster-admin"}},
        ),
        "binds the ClusterRole",
    ),
    "the team role bound to a student": (
        review(
            "CREATE",
            "rbac.authorization.k8s.io/v1",
            "rolebindings",
            {
                **BINDING,
                "subjects": [
                    *BINDING["subjects"],
                    {"kind": "User", "name": "student", "apiGroup": "rbac.authorization.k8s.io"},
                ],
            },
        ),
        "binds the ClusterRole",
    ),
    "the team role bound to a namesake in a team namespace": (
        review(
            "CREATE",
            "rbac.authorization.k8s.io/v1",
            "rolebindings",
            {**BINDING, "subjects": [{**BINDING["subjects"][0], "namespace": "kubecamp-blue"}]},
        ),
        "binds the ClusterRole",
    ),
}


@pytest.mark.parametrize("admission", ALLOWED.values(), ids=ALLOWED.keys())
def test_the_bot_may_work_in_its_namespaces(admission: dict[str, Any]) -> None:
    assert decide(admission, NAMESPACES) == "allowed"


@pytest.mark.parametrize(("admission", "why"), DENIED_REQUESTS.values(), ids=DENIED_REQUESTS.keys())
def test_the_bot_is_held_to_its_namespaces(admission: dict[str, Any], why: str) -> None:
    said = decide(admission, NAMESPACES)
    assert said.startswith(DENIED) and why in said.removeprefix(DENIED), said


@pytest.mark.parametrize(("admission", "why"), DENIED_REQUESTS.values(), ids=DENIED_REQUESTS.keys())
@pytest.mark.parametrize(
    "user", ["kubernetes-admin", "student", f"system:serviceaccount:{NAMESPACE}:default", BOT_USER]
)
def test_other_users_are_untouched(admission: dict[str, Any], why: str, user: str) -> None:
    """Everyone else is RBAC's business: the policy matches the bot's ServiceAccount only (BOT_USER is the
    bot of a release named otherwise)."""
    admission = copy.deepcopy(admission)
    admission["request"]["userInfo"]["username"] = user
    assert decide(admission, NAMESPACES) == "allowed"


def test_reads_are_never_matched() -> None:
    admission = review("CREATE", "apps/v1", "deployments", obj("apps/v1", "Deployment", "x", "kube-system"))
    for operation in ("CONNECT", "GET", "LIST"):
        admission["request"]["operation"] = operation
        assert decide(admission, NAMESPACES) == "allowed"


def test_the_policy_follows_the_release() -> None:
    """Another ServiceAccount name, another prefix: the policy names them."""
    policy = chart_policy({"serviceAccount": {"name": "trainer"}, "kube": {"namespacePrefix": "class-"}})
    trainer = f"system:serviceaccount:{NAMESPACE}:trainer"
    namespace = {**MANAGED, "metadata": {**MANAGED["metadata"], "name": "class-blue"}}
    assert decide(review("CREATE", "v1", "namespaces", namespace, user=trainer), {}, policy) == "allowed"
    assert decide(review("CREATE", "v1", "namespaces", MANAGED, user=trainer), {}, policy) != "allowed"
    assert decide(review("CREATE", "v1", "namespaces", namespace, user=BOT), {}, policy) == "allowed", "not the bot"


def test_the_policy_can_be_left_out_for_older_clusters() -> None:
    kinds = {o["kind"] for o in render(merged(REQUIRED, {"admissionPolicy": {"enabled": False}}))}
    assert not {"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"} & kinds


def test_the_policy_is_enforced_on_failure_too() -> None:
    policy = one(render(REQUIRED), "ValidatingAdmissionPolicy")["spec"]
    assert policy["failurePolicy"] == "Fail"
    assert one(render(REQUIRED), "ValidatingAdmissionPolicyBinding")["spec"]["validationActions"] == ["Deny"]


def test_the_emulator_evaluates_the_chart_as_installed() -> None:
    """The emulated API server renders the chart as release kubecamp-bot in kubecamp: the same policy."""
    assert chart_settings()["KUBECAMP_KUBE_SERVICE_ACCOUNT"] == "kubecamp/kubecamp-bot"
    assert BOT_USER == "system:serviceaccount:kubecamp:kubecamp-bot"


# --- the attacks, through the emulated API server ------------------------------------------------


async def forbidden(call: Any) -> str:
    with pytest.raises(ApiException) as refused:
        await call
    assert refused.value.status == 403, refused.value.body
    status = json.loads(refused.value.body)
    assert status["reason"] == "Forbidden"
    return str(status["message"])


async def test_a_stolen_bot_token_cannot_leave_the_team_namespaces(kube_cluster: KubeCluster) -> None:
    kube_cluster.create("configmaps", {"metadata": {"name": "coredns"}, "data": {"Corefile": "."}}, "kube-system")
    kube_cluster.create("persistentvolumeclaims", {"metadata": {"name": "data"}, "spec": {
        "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}, "default")  # fmt: skip
    async with kube_cluster.api_client(token=BOT_TOKEN) as api:
        apps, core = k8s.AppsV1Api(api), k8s.CoreV1Api(api)
        body = obj("apps/v1", "Deployment", "x", None, spec={**DEPLOYMENT, **PRIVILEGED_POD_TEMPLATE})
        said = await forbidden(apps.create_namespaced_deployment("kube-system", body))
        assert said == (
            "deployments.apps \"x\" is forbidden: ValidatingAdmissionPolicy 'kubecamp-kubecamp-bot' with binding "
            "'kubecamp-kubecamp-bot' denied request: kubecamp-bot writes only in namespaces labelled "
            "app.kubernetes.io/managed-by=kubecamp-bot, and the teams' ServiceAccounts in its own"
        )
        await forbidden(core.patch_namespaced_config_map("coredns", "kube-system", {"data": {"Corefile": "x"}}))
        service = obj("v1", "Service", "mitm", None, spec={"externalIPs": ["8.8.8.8"], "ports": [{"port": 53}]})
        await forbidden(core.create_namespaced_service("default", service))
        await forbidden(core.delete_namespaced_persistent_volume_claim("data", "default"))
        prometheus = obj("monitoring.coreos.com/v1", "Prometheus", "p", None, spec={})
        await forbidden(
            k8s.CustomObjectsApi(api).create_namespaced_custom_object(
                "monitoring.coreos.com", "v1", "default", "prometheuses", prometheus
            )
        )
        await forbidden(core.create_namespace(obj("v1", "Namespace", "kubecamp-evil", None)))
        claim = {"metadata": {"labels": {"app.kubernetes.io/managed-by": "kubecamp-bot", "kubecamp.io/team": "x"}}}
        await forbidden(core.patch_namespace("default", claim))
        await forbidden(core.delete_namespace("kube-system"))
    assert kube_cluster.get("configmaps", "kube-system", "coredns")["data"] == {"Corefile": "."}
    assert kube_cluster.get("persistentvolumeclaims", "default", "data") is not None
    assert kube_cluster.get("namespaces", None, "kube-system") is not None
    assert kube_cluster.objects("deployments", "kube-system") == []


async def test_the_admin_and_the_controllers_are_untouched(kube_cluster: KubeCluster) -> None:
    async with kube_cluster.api_client() as api:
        apps = k8s.AppsV1Api(api)
        template = {"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "x", "image": "nginx"}]}}
        body = obj("apps/v1", "Deployment", "x", None, spec={**DEPLOYMENT, "template": template})
        await apps.create_namespaced_deployment("default", body)
    assert len(kube_cluster.objects("replicasets", "default")) == 1, "the Deployment controller wrote"
    assert len(kube_cluster.pods_of("default", "x")) == 1, "the ReplicaSet controller wrote"
