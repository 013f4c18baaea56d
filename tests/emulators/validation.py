"""The subset of API validation that broken manifests typically trip over (answers 422 Invalid)."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from .quantities import QuantityError, parse_quantity
from .resources import Obj
from .selectors import matches_selector_object

Cause = tuple[str, str]  # (field, message)

_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_IANA_SVC_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
ACCESS_MODES = ("ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod")


def _go_map(labels: dict[str, str]) -> str:
    inner = ", ".join(f"{json.dumps(k)}:{json.dumps(v)}" for k, v in sorted(labels.items()))
    return "map[string]string{" + inner + "}"


_RBAC_KINDS = frozenset({"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"})


def _name_causes(kind: str, name: str) -> list[Cause]:
    if kind == "Service":
        if not _DNS1035_LABEL.match(name) or len(name) > 63:
            return [
                (
                    "metadata.name",
                    f'Invalid value: "{name}": a DNS-1035 label must consist of lower case '
                    "alphanumeric characters or '-', start with an alphabetic character, and end with an "
                    "alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is "
                    "'[a-z]([-a-z0-9]*[a-z0-9])?')",
                )
            ]
        return []
    if kind == "Namespace":
        if not _DNS1123_LABEL.match(name) or len(name) > 63:
            return [
                (
                    "metadata.name",
                    f'Invalid value: "{name}": a lowercase RFC 1123 label must consist of '
                    "lower case alphanumeric characters or '-', and must start and end with an alphanumeric "
                    "character (e.g. 'my-name',  or '123-abc', regex used for validation is "
                    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
                )
            ]
        return []
    if kind in _RBAC_KINDS:
        # pkg/apis/rbac/validation: ValidateRBACName is path.IsValidPathSegmentName ("system:discovery").
        for bad in (".", ".."):
            if name == bad:
                return [("metadata.name", f"Invalid value: \"{name}\": may not be '{bad}'")]
        for bad in ("/", "%"):
            if bad in name:
                return [("metadata.name", f"Invalid value: \"{name}\": may not contain '{bad}'")]
        return []
    if not _DNS1123_SUBDOMAIN.match(name) or len(name) > 253:
        return [
            (
                "metadata.name",
                f'Invalid value: "{name}": a lowercase RFC 1123 subdomain must consist of '
                "lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric "
                "character (e.g. 'example.com', regex used for validation is "
                "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
            )
        ]
    return []


def _quantity(value: Any, field: str, causes: list[Cause]) -> Decimal | None:
    try:
        return parse_quantity(value)
    except QuantityError:
        causes.append((field, f'Invalid value: "{value}": must be a valid quantity'))
        return None


def _pod_spec(
    spec: Any,
    path: str,
    causes: list[Cause],
    *,
    template_of: str | None = None,
    extra_volumes: frozenset[str] = frozenset(),
) -> None:
    if not isinstance(spec, dict):
        causes.append((path, "Required value"))
        return
    containers = spec.get("containers")
    if not containers:
        causes.append((f"{path}.containers", "Required value"))
        return
    volumes = {v.get("name") for v in spec.get("volumes") or [] if isinstance(v, dict)} | extra_volumes
    if (
        template_of in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet")
        and spec.get("restartPolicy", "Always") != "Always"
    ):
        causes.append(
            (f"{path}.restartPolicy", f'Unsupported value: "{spec.get("restartPolicy")}": supported values: "Always"')
        )
    seen: set[str] = set()
    for group in ("initContainers", "containers"):
        for index, container in enumerate(spec.get(group) or []):
            where = f"{path}.{group}[{index}]"
            name = container.get("name")
            if not name:
                causes.append((f"{where}.name", "Required value"))
            elif not _DNS1123_LABEL.match(str(name)):
                causes.append(
                    (
                        f"{where}.name",
                        f'Invalid value: "{name}": a lowercase RFC 1123 label must '
                        "consist of lower case alphanumeric characters or '-'",
                    )
                )
            elif name in seen:
                causes.append((f"{where}.name", f'Duplicate value: "{name}"'))
            seen.add(str(name))
            if not container.get("image"):
                causes.append((f"{where}.image", "Required value"))
            resources = container.get("resources") or {}
            requests = resources.get("requests") or {}
            limits = resources.get("limits") or {}
            for rname, value in requests.items():
                req = _quantity(value, f"{where}.resources.requests[{rname}]", causes)
                if rname in limits:
                    lim = _quantity(limits[rname], f"{where}.resources.limits[{rname}]", causes)
                    if req is not None and lim is not None and req > lim:
                        causes.append(
                            (
                                f"{where}.resources.requests",
                                f'Invalid value: "{value}": must be less than or equal to '
                                f"{rname} limit of {limits[rname]}",
                            )
                        )
            for rname, value in limits.items():
                if rname not in requests:
                    _quantity(value, f"{where}.resources.limits[{rname}]", causes)
            for pindex, port in enumerate(container.get("ports") or []):
                number = port.get("containerPort")
                if not isinstance(number, int) or not 1 <= number <= 65535:
                    causes.append(
                        (
                            f"{where}.ports[{pindex}].containerPort",
                            f"Invalid value: {json.dumps(number)}: must be between 1 and 65535, inclusive",
                        )
                    )
            for mindex, mount in enumerate(container.get("volumeMounts") or []):
                if mount.get("name") not in volumes:
                    causes.append((f"{where}.volumeMounts[{mindex}].name", f'Not found: "{mount.get("name")}"'))


def _deployment_like(kind: str, obj: Obj, causes: list[Cause]) -> None:
    spec = obj.get("spec") or {}
    selector = spec.get("selector")
    template = spec.get("template") or {}
    labels = (template.get("metadata") or {}).get("labels") or {}
    if kind != "DaemonSet" and isinstance(spec.get("replicas"), int) and spec["replicas"] < 0:
        causes.append(("spec.replicas", f"Invalid value: {spec['replicas']}: must be greater than or equal to 0"))
    if not selector:
        causes.append(("spec.selector", "Required value"))
    elif not (selector.get("matchLabels") or selector.get("matchExpressions")):
        causes.append(
            (
                "spec.selector",
                "Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), "
                "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for "
                "deployment",
            )
        )
    elif not matches_selector_object(selector, labels):
        causes.append(
            (
                "spec.template.metadata.labels",
                f"Invalid value: {_go_map(labels)}: `selector` does not match template `labels`",
            )
        )
    if kind == "Deployment":
        rolling = (spec.get("strategy") or {}).get("rollingUpdate") or {}
        if (spec.get("strategy") or {}).get("type") == "Recreate" and rolling:
            causes.append(
                ("spec.strategy.rollingUpdate", "Forbidden: may not be specified when strategy `type` is 'Recreate'")
            )
        unavailable, surge = rolling.get("maxUnavailable"), rolling.get("maxSurge")
        if (
            unavailable is not None
            and surge is not None
            and str(unavailable) in ("0", "0%")
            and str(surge)
            in (
                "0",
                "0%",
            )
        ):
            causes.append(
                (
                    "spec.strategy.rollingUpdate.maxUnavailable",
                    'Invalid value: intstr.IntOrString{Type:0, IntVal:0, StrVal:""}: may not be 0 when `maxSurge` is 0',
                )
            )
    claims = frozenset(
        str((c.get("metadata") or {}).get("name"))
        for c in spec.get("volumeClaimTemplates") or []
        if isinstance(c, dict)
    )
    _pod_spec(template.get("spec"), "spec.template.spec", causes, template_of=kind, extra_volumes=claims)


def _service(obj: Obj, causes: list[Cause]) -> None:
    spec = obj.get("spec") or {}
    ports = spec.get("ports") or []
    if not ports and spec.get("clusterIP") != "None" and spec.get("type") != "ExternalName":
        causes.append(("spec.ports", "Required value"))
    for index, port in enumerate(ports):
        number = port.get("port")
        if not isinstance(number, int) or not 1 <= number <= 65535:
            causes.append(
                (
                    f"spec.ports[{index}].port",
                    f"Invalid value: {json.dumps(number)}: must be between 1 and 65535, inclusive",
                )
            )
        target = port.get("targetPort")
        if isinstance(target, str):
            if len(target) > 15:
                causes.append(
                    (
                        f"spec.ports[{index}].targetPort",
                        f'Invalid value: "{target}": must be no more than 15 characters',
                    )
                )
            elif not _IANA_SVC_NAME.match(target) or not re.search("[a-z]", target):
                causes.append(
                    (
                        f"spec.ports[{index}].targetPort",
                        f'Invalid value: "{target}": must contain only alpha-numeric characters '
                        "(a-z, 0-9), and hyphens (-)",
                    )
                )
        if len(ports) > 1 and not port.get("name"):
            causes.append((f"spec.ports[{index}].name", "Required value"))


def _pvc(obj: Obj, causes: list[Cause]) -> None:
    spec = obj.get("spec") or {}
    modes = spec.get("accessModes") or []
    if not modes:
        causes.append(("spec.accessModes", "Required value: at least 1 access mode is required"))
    for mode in modes:
        if mode not in ACCESS_MODES:
            supported = ", ".join(f'"{m}"' for m in ACCESS_MODES)
            causes.append(("spec.accessModes", f'Unsupported value: "{mode}": supported values: {supported}'))
    storage = ((spec.get("resources") or {}).get("requests") or {}).get("storage")
    if storage is None:
        causes.append(("spec.resources[storage]", "Required value"))
    else:
        _quantity(storage, "spec.resources.requests[storage]", causes)


def _hpa(obj: Obj, causes: list[Cause]) -> None:
    spec = obj.get("spec") or {}
    target = spec.get("scaleTargetRef") or {}
    if not target.get("kind"):
        causes.append(("spec.scaleTargetRef.kind", "Required value"))
    if not target.get("name"):
        causes.append(("spec.scaleTargetRef.name", "Required value"))
    low, high = spec.get("minReplicas", 1), spec.get("maxReplicas")
    if not isinstance(high, int):
        causes.append(("spec.maxReplicas", "Required value"))
    elif isinstance(low, int):
        if low < 1:
            causes.append(("spec.minReplicas", f"Invalid value: {low}: must be greater than or equal to 1"))
        if high < low:
            causes.append(
                ("spec.maxReplicas", f"Invalid value: {high}: must be greater than or equal to `minReplicas`")
            )


def validate(kind: str, obj: Obj) -> list[Cause]:
    causes: list[Cause] = []
    name = (obj.get("metadata") or {}).get("name")
    if name:
        causes += _name_causes(kind, str(name))
    if kind == "Pod":
        _pod_spec(obj.get("spec"), "spec", causes)
    elif kind in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"):
        _deployment_like(kind, obj, causes)
    elif kind == "Service":
        _service(obj, causes)
    elif kind == "PersistentVolumeClaim":
        _pvc(obj, causes)
    elif kind == "HorizontalPodAutoscaler":
        _hpa(obj, causes)
    return causes


_POD_MUTABLE = ("image", "activeDeadlineSeconds", "tolerations", "terminationGracePeriodSeconds")


def validate_update(kind: str, old: Obj, new: Obj) -> list[Cause]:
    """Immutable fields, as the update strategies of the real registry check them."""
    causes: list[Cause] = []
    old_spec, new_spec = old.get("spec") or {}, new.get("spec") or {}
    if kind in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet") and old_spec.get("selector") != new_spec.get(
        "selector"
    ):
        causes.append(
            ("spec.selector", f"Invalid value: {_selector_repr(new_spec.get('selector'))}: field is immutable")
        )
    if kind == "StatefulSet":
        for field in ("volumeClaimTemplates", "serviceName", "podManagementPolicy"):
            if old_spec.get(field) != new_spec.get(field):
                causes.append(
                    (
                        "spec",
                        "Forbidden: updates to statefulset spec for fields other than 'replicas', "
                        "'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', "
                        "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
                    )
                )
                break
    if kind == "PersistentVolumeClaim":

        def frozen(spec: Obj) -> Obj:
            rest = {k: v for k, v in spec.items() if k not in ("resources", "volumeAttributesClassName")}
            return rest

        if frozen(old_spec) != frozen(new_spec):
            causes.append(
                (
                    "spec",
                    "Forbidden: spec is immutable after creation except resources.requests and "
                    "volumeAttributesClassName for bound claims",
                )
            )
        else:
            old_size = ((old_spec.get("resources") or {}).get("requests") or {}).get("storage")
            new_size = ((new_spec.get("resources") or {}).get("requests") or {}).get("storage")
            if old_size != new_size and (old.get("status") or {}).get("phase") != "Bound":
                causes.append(
                    (
                        "spec",
                        "Forbidden: spec is immutable after creation except resources.requests "
                        "and volumeAttributesClassName for bound claims",
                    )
                )
    if kind == "Pod":

        def strip(spec: Obj) -> str:
            copy = json.loads(json.dumps(spec))
            for field in _POD_MUTABLE:
                copy.pop(field, None)
            for container in (copy.get("containers") or []) + (copy.get("initContainers") or []):
                container.pop("image", None)
            return json.dumps(copy, sort_keys=True)

        if strip(old_spec) != strip(new_spec):
            causes.append(
                (
                    "spec",
                    "Forbidden: pod updates may not change fields other than "
                    "`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,"
                    "`spec.tolerations` (only additions to existing tolerations),"
                    "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously "
                    "negative)",
                )
            )
    if kind == "Service":
        old_ip, new_ip = old_spec.get("clusterIP"), new_spec.get("clusterIP")
        if new_ip and old_ip and new_ip != old_ip:
            causes.append(("spec.clusterIPs[0]", f'Invalid value: []string{{"{new_ip}"}}: may not change once set'))
    if kind == "StorageClass":
        for field in ("provisioner", "parameters", "reclaimPolicy", "volumeBindingMode"):
            if old.get(field) != new.get(field):
                causes.append((field, f"Forbidden: updates to {field} are forbidden."))
    if (kind in ("Secret", "ConfigMap") and old.get("immutable")) and (
        old.get("data") != new.get("data") or old.get("binaryData") != new.get("binaryData")
    ):
        causes.append(("data", "Forbidden: field is immutable when `immutable` is set"))
    return causes


def _selector_repr(selector: Any) -> str:
    labels = (selector or {}).get("matchLabels") or {}
    return "v1.LabelSelector{MatchLabels:" + _go_map(labels) + ", MatchExpressions:[]v1.LabelSelectorRequirement(nil)}"
