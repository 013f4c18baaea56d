"""Fixtures of the emulator's own tests: `api`, the official async client on `kube_cluster` with namespace `NS`."""

from __future__ import annotations

import pytest
from kubernetes.aio import client as k8s

NS = "team1"


@pytest.fixture
async def api(kube_api: k8s.ApiClient) -> k8s.ApiClient:
    await k8s.CoreV1Api(kube_api).create_namespace({"metadata": {"name": NS}})
    return kube_api
