"""Objects held against Kubernetes' own OpenAPI schemas: kubernetes-validate's strict ones (no field the API
server would drop), for the Kubernetes version the chart and the scenarios target."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

import kubernetes_validate
from kubernetes_validate import utils

KUBERNETES_VERSION = "1.33"

# The library reads and parses a kind's schema and the multi-megabyte definitions file on every call (8.5 ms
# of CPU, against 0.7 ms with them read once); they are files of the installed package, read-only.
utils.schema_contents = cache(utils.schema_contents)


def validate(obj: Mapping[str, Any]) -> None:
    """Raises kubernetes_validate.ValidationError naming the first field the schema refuses."""
    kubernetes_validate.validate(dict(obj), KUBERNETES_VERSION, strict=True)
