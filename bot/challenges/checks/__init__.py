"""The check library: each check is a pure function of one namespace snapshot.

A check returns pass, fail, or "could not check" (when a kind it needs could not be listed), with a
`Message` a student can act on: it says which object, what is wrong, and what the cluster reports
("Deployment frontend: 0/3 available; Pods: ErrImagePull/ImagePullBackOff (image nginx:1.27-alpinee) ×3").
A check never passes on missing data, nor on finding nothing to judge. A failure's `message` is the symptom
as the cluster shows it; its `diagnosis` names the field and the bound (shown once hints reach it).

Scenario files name checks as one-key mappings (`- deployment_available: {name: frontend, min: 3}`);
each check's arguments are a pydantic model, so a wrong argument is a clear load-time error.
"""

from bot.challenges.checks import (
    agents,
    autoscaling,
    config,
    deployment_spec,
    monitoring,
    network,
    nodes,
    pins,
    placement,
    platform,
    services,
    storage,
    workloads,
)
from bot.challenges.checks._base import (
    REGISTRY,
    CheckSpec,
    Outcome,
    Status,
    find_condition,
    name_of,
    parse_check,
    register,
)
from bot.challenges.checks.pods import pod_problems
from bot.snapshot import Snapshot

# The check modules register their checks when imported.
__all__ = [
    "REGISTRY",
    "CheckSpec",
    "Outcome",
    "Snapshot",
    "Status",
    "agents",
    "autoscaling",
    "config",
    "deployment_spec",
    "find_condition",
    "monitoring",
    "name_of",
    "network",
    "nodes",
    "parse_check",
    "pins",
    "placement",
    "platform",
    "pod_problems",
    "register",
    "services",
    "storage",
    "workloads",
]
