"""kubectl's tables, for a team's own cluster (the Week 3 project's HA cluster, its deployed services)."""

from __future__ import annotations

from typing import Any

import pytest

from bot.evidence import evaluate
from bot.i18n import render
from tests.evidence.test_docker import sample, unmet_keys


@pytest.mark.parametrize(
    ("params", "unmet"),
    [
        ({"control_planes": 3}, []),
        ({"ready": 4, "control_planes": 3}, []),  # a cordoned node (Ready,SchedulingDisabled) is Ready
        ({"ready": 5}, ["evidence.at_least"]),  # cp-3 is NotReady
        ({"control_planes": 4}, ["evidence.at_least"]),
    ],
)
def test_kubectl_get_nodes(params: dict[str, Any], unmet: list[str]) -> None:
    assert unmet_keys("kubectl-get-nodes", params, sample("kubectl-get-nodes.txt")) == unmet


def test_kubectl_get_nodes_says_what_it_read() -> None:
    verdict = evaluate("kubectl-get-nodes", {"ready": 5}, sample("kubectl-get-nodes.txt"))
    assert render(verdict.message, "ko") == "노드 5개: Ready 4개, 컨트롤 플레인 3개"
    assert render(verdict.unmet[0], "en") == "Ready nodes: 4 (at least 5 needed)"


def test_before_1_24_a_control_plane_is_also_master() -> None:
    old = sample("kubectl-get-nodes.txt").replace("control-plane   ", "master          ")
    assert unmet_keys("kubectl-get-nodes", {"control_planes": 3}, old) == []


@pytest.mark.parametrize(
    ("params", "unmet"),
    [
        ({"prefix": "video-api", "running": 2, "all_ready": True}, []),
        ({"running": 4}, []),
        ({"running": 5}, ["evidence.at_least"]),
        ({"prefix": "streaming-service", "all_ready": True}, ["evidence.kubectl_get_pods.not_ready"]),
        ({"prefix": "analytics-service", "running": 1}, ["evidence.kubectl_get_pods.none"]),
    ],
)
def test_kubectl_get_pods(params: dict[str, Any], unmet: list[str]) -> None:
    assert unmet_keys("kubectl-get-pods", params, sample("kubectl-get-pods.txt")) == unmet


def test_a_pod_not_ready_is_named_with_its_status() -> None:
    verdict = evaluate("kubectl-get-pods", {"all_ready": True}, sample("kubectl-get-pods.txt"))
    assert [render(m, "en") for m in verdict.unmet] == [
        "Pods not Running or not ready: streaming-service-7b9c6f5d4-h2l8m CrashLoopBackOff 0/1"
    ]


def test_all_namespaces_and_wide_columns_are_read() -> None:
    wide = (
        "NAMESPACE     NAME                         READY   STATUS    RESTARTS   AGE   IP           NODE       "
        "NOMINATED NODE   READINESS GATES\n"
        "kube-system   coredns-7db6d8ff4d-5x9qz     1/1     Running   0          3d    10.244.0.3   cp-1       "
        "<none>           <none>\n"
        "streaming     video-api-6d8f7c9b5d-4kx2p   0/1     Running   0          12m   10.244.1.7   worker-1   "
        "<none>           <none>\n"
    )
    assert unmet_keys("kubectl-get-pods", {"running": 1}, wide) == []
    assert unmet_keys("kubectl-get-pods", {"prefix": "video-api", "running": 1}, wide) == ["evidence.at_least"]
