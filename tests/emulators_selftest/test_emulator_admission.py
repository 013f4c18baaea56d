"""The emulator's validating admission policies: the parts of the API it evaluates, as the API server does, and
the parts it refuses to half-evaluate."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes.aio import client as k8s
from kubernetes.aio.client.exceptions import ApiException

from tests.emulators.admission import PolicyError, ValidatingPolicy, admission_request
from tests.emulators.kube import BOT_TOKEN, KubeCluster
from tests.emulators.resources import BUILTIN

DEPLOYMENTS = next(r for r in BUILTIN if r.plural == "deployments")
RULE = {"apiGroups": ["apps"], "apiVersions": ["v1"], "resources": ["deployments"], "operations": ["CREATE"]}


def policy(
    *, rules: list[dict[str, Any]] | None = None, validations: list[dict[str, Any]] | None = None, **spec: Any
) -> ValidatingPolicy:
    body = {
        "metadata": {"name": "p"},
        "spec": {
            "matchConstraints": {"resourceRules": rules or [RULE]},
            "validations": validations or [{"expression": "object.spec.replicas <= 5"}],
            **spec,
        },
    }
    return ValidatingPolicy(
        body, {"metadata": {"name": "b"}, "spec": {"policyName": "p", "validationActions": ["Deny"]}}
    )


def request(operation: str = "CREATE", subresource: str | None = None, user: str = "u") -> dict[str, Any]:
    return admission_request(
        DEPLOYMENTS, operation=operation, name="web", namespace="n", username=user, subresource=subresource, uid="1"
    )


def deployment(replicas: int) -> dict[str, Any]:
    return {"metadata": {"name": "web", "namespace": "n"}, "spec": {"replicas": replicas}}


def test_a_failed_expression_without_a_message_is_quoted() -> None:
    assert policy().denial(request(), deployment(6), None, None) == (
        "ValidatingAdmissionPolicy 'p' with binding 'b' denied request: failed expression: object.spec.replicas <= 5"
    )
    assert policy().denial(request(), deployment(5), None, None) is None


@pytest.mark.parametrize(
    ("resources", "subresource", "matched"),
    [
        (["deployments"], None, True),
        (["deployments"], "scale", False),
        (["*"], None, True),
        (["*"], "scale", False),
        (["*/*"], "scale", True),
        (["deployments/*"], "scale", True),
        (["deployments/*"], None, False),
        (["*/scale"], "scale", True),
        (["deployments/status"], "scale", False),
        (["pods"], None, False),
    ],
)
def test_resource_rules_match_as_the_api_server_does(
    resources: list[str], subresource: str | None, matched: bool
) -> None:
    rules = [{**RULE, "resources": resources, "operations": ["*"]}]
    denied = policy(rules=rules).denial(request("UPDATE", subresource), deployment(6), deployment(1), None)
    assert (denied is not None) == matched


def test_operations_and_exclusions() -> None:
    assert policy().denial(request("DELETE"), None, deployment(6), None) is None
    excluded = policy(matchConstraints={"resourceRules": [RULE], "excludeResourceRules": [RULE]})
    assert excluded.denial(request(), deployment(6), None, None) is None


def test_match_conditions_choose_the_requests() -> None:
    only_u = policy(matchConditions=[{"name": "u", "expression": 'request.userInfo.username == "u"'}])
    assert only_u.denial(request(user="u"), deployment(6), None, None) is not None
    assert only_u.denial(request(user="v"), deployment(6), None, None) is None


def test_a_variable_fails_only_where_it_is_used() -> None:
    variables = [
        {"name": "broken", "expression": "object.spec.missing.field == 1"},
        {"name": "replicas", "expression": "object.spec.replicas"},
    ]
    checked = policy(variables=variables, validations=[{"expression": "variables.replicas <= 5", "message": "m"}])
    assert checked.denial(request(), deployment(5), None, None) is None
    assert checked.denial(request(), deployment(6), None, None) == (
        "ValidatingAdmissionPolicy 'p' with binding 'b' denied request: m"
    )


def test_an_expression_error_denies_unless_the_policy_ignores_failures() -> None:
    broken = [{"expression": "object.spec.missing.field == 1"}]
    denied = policy(validations=broken).denial(request(), deployment(1), None, None)
    assert denied is not None and "expression 'object.spec.missing.field == 1' resulted in error" in denied
    assert policy(validations=broken, failurePolicy="Ignore").denial(request(), deployment(1), None, None) is None


PAUSED = {"metadata": {"name": "web", "namespace": "n"}, "spec": {"replicas": 5, "paused": True}}


@pytest.mark.parametrize(
    ("validation", "second", "same_verdict"),
    [
        ("object.spec.replicas <= 5", {**deployment(5), "metadata": {"name": "web", "resourceVersion": "7"}}, True),
        ("!has(object.spec.paused) && object.spec.replicas <= 5", PAUSED, False),
        ("object.spec.all(k, k != 'paused')", PAUSED, False),  # a macro over a field: all of it counts
        ("object.spec['replicas'] <= 5", deployment(6), False),  # indexed: the whole of spec counts
        ("object.size() == 2", {**deployment(5), "kind": "Deployment"}, False),  # the whole object
        ("request.uid == '1'", deployment(5), False),  # the request's uid, when read (the second request's is 2)
    ],
)
def test_a_remembered_verdict_is_given_again_only_for_what_the_expressions_read_alike(
    validation: str, second: dict[str, Any], same_verdict: bool
) -> None:
    checked = policy(validations=[{"expression": validation}])
    assert checked.denial(request(), deployment(5), None, None) is None
    other = dict(request(), uid="2")
    fresh = policy(validations=[{"expression": validation}]).denial(other, second, None, None)
    assert checked.denial(other, second, None, None) == fresh
    assert (fresh is None) == same_verdict


@pytest.mark.parametrize(
    "spec",
    [
        {"paramKind": {"apiVersion": "v1", "kind": "ConfigMap"}},
        {"auditAnnotations": [{"key": "k", "valueExpression": "'v'"}]},
        {"matchConstraints": {"resourceRules": [RULE], "namespaceSelector": {"matchLabels": {"a": "b"}}}},
        {"validations": [{"expression": "true", "messageExpression": "'m'"}]},
    ],
)
def test_what_is_not_emulated_is_refused(spec: dict[str, Any]) -> None:
    with pytest.raises(PolicyError):
        policy(**spec)


async def test_the_bots_token_meets_the_chart_policy_and_no_other_token_does(kube_cluster: KubeCluster) -> None:
    body = {"metadata": {"name": "x"}, "data": {}}
    async with kube_cluster.api_client(token=BOT_TOKEN) as api:
        with pytest.raises(ApiException) as refused:
            await k8s.CoreV1Api(api).create_namespaced_config_map("default", body)
    assert refused.value.status == 403
    async with kube_cluster.api_client() as api:
        await k8s.CoreV1Api(api).create_namespaced_config_map("default", body)
    assert kube_cluster.get("configmaps", "default", "x") is not None


async def test_the_policy_can_be_left_out() -> None:
    async with KubeCluster(admission_policy=False) as cluster, cluster.api_client(token=BOT_TOKEN) as api:
        await k8s.CoreV1Api(api).create_namespaced_config_map("default", {"metadata": {"name": "x"}})
        assert cluster.get("configmaps", "default", "x") is not None
