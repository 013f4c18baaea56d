"""What a fix must keep: the workload the scenario is about, not a stand-in for it.

Deleting the Deployment, scaling it to 0 or 1, removing a probe, running another image or relabelling
its Pods away from the Service all make other checks quiet without fixing anything. `workload_pinned`
fails on each of them and says which.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import Field, field_validator

from bot.challenges.checks._base import NamedCheck, Outcome, diagnosis, register, require, template_containers
from bot.challenges.checks.images import repository
from bot.challenges.checks.workloads import replicas_of, scaled_down
from bot.challenges.selectors import parse_selector, selector_matches
from bot.snapshot import Obj, Snapshot

Probe = Literal["readiness", "liveness", "startup"]


@register("workload_pinned", "Deployment")
class WorkloadPinned(NamedCheck):
    #: At least this many replicas.
    replicas: int | None = Field(default=None, ge=1)
    #: Image repositories the containers may run (`nginx`, `nginxinc/nginx-unprivileged`); any tag.
    images: list[str] | None = Field(default=None, min_length=1)
    #: Probes every container keeps.
    probes: list[Probe] = Field(default_factory=list)
    #: Labels the Deployment selects its Pods by and the Pods carry (`app=frontend`).
    selector: str | None = None
    #: PersistentVolumeClaims the Pods keep mounting (an emptyDir instead loses the data).
    claims: list[str] = Field(default_factory=list)
    #: Every container keeps cpu and memory limits (challenge 2: "리소스 제한이 적절히 설정").
    limits: bool = False

    @field_validator("selector")
    @classmethod
    def _parsable(cls, value: str | None) -> str | None:
        if value is not None:
            parse_selector(value)
        return value

    def run(self, snapshot: Snapshot) -> Outcome:
        deployment = require(snapshot, "Deployment", self.name)
        replicas = replicas_of(deployment)
        if self.replicas is not None and replicas < self.replicas:
            return scaled_down(self.name, replicas, self.replicas)
        relabelled = self._relabelled(deployment)
        if relabelled is not None:
            return relabelled
        template = deployment.get("spec", {}).get("template", {}).get("spec", {})
        mounted = {(v.get("persistentVolumeClaim") or {}).get("claimName") for v in template.get("volumes") or []}
        for claim in self.claims:
            if claim not in mounted:
                return Outcome.fail(
                    "check.workload_pinned.claim",
                    name=self.name,
                    claim=claim,
                    diagnosis=diagnosis("check.diagnosis.claim_unmounted", claim=claim),
                )
        changed = containers_changed(
            "Deployment", self.name, template, images=self.images, probes=self.probes, limits=self.limits
        )
        return changed or Outcome.ok("check.workload_pinned.pass", name=self.name)

    def _relabelled(self, deployment: Obj) -> Outcome | None:
        if self.selector is None:
            return None
        pinned = parse_selector(self.selector)
        spec = deployment.get("spec", {})
        labels = (spec.get("template", {}).get("metadata") or {}).get("labels") or {}
        selected = spec.get("selector") or {}
        keeps = selector_matches(pinned, labels) and all(
            (selected.get("matchLabels") or {}).get(k) == v for k, v in pinned["matchLabels"].items()
        )
        if keeps:
            return None
        return Outcome.fail(
            "check.workload_pinned.labels",
            name=self.name,
            diagnosis=diagnosis("check.diagnosis.pinned_labels", selector=self.selector),
        )


def containers_changed(
    kind: str,
    name: str,
    template: Obj,
    *,
    images: Sequence[str] | None,
    probes: Sequence[Probe],
    limits: bool = False,
) -> Outcome | None:
    """The failure of the first container of a Pod template that runs another image than `images`, lacks a
    cpu or memory limit (`limits`) or one of the `probes`; None when every container keeps them."""
    for container in template_containers(template):
        image = str(container.get("image") or "")
        where = {"kind": kind, "name": name, "container": container.get("name")}
        if images is not None and repository(image) not in {repository(i) for i in images}:
            return Outcome.fail(
                "check.workload_pinned.image",
                **where,
                image=image,
                diagnosis=diagnosis("check.diagnosis.image_family", image=image, images=", ".join(images)),
            )
        unlimited = [r for r in ("cpu", "memory") if r not in (container.get("resources") or {}).get("limits", {})]
        if limits and unlimited:
            return Outcome.fail(
                "check.workload_pinned.no_limit",
                **where,
                resource=unlimited[0],
                diagnosis=diagnosis("check.diagnosis.no_limit", resource=unlimited[0]),
            )
        for probe in probes:
            if not container.get(f"{probe}Probe"):
                return Outcome.fail(
                    "check.workload_pinned.probe",
                    **where,
                    probe=probe,
                    diagnosis=diagnosis("check.diagnosis.probe_missing", probe=f"{probe}Probe"),
                )
    return None
