"""PersistentVolume controller, the local-path provisioner of kind, and PVC protection."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from .quantities import QuantityError, parse_quantity
from .resources import Obj

if TYPE_CHECKING:
    from .simulator import Simulator


SELECTED_NODE = "volume.kubernetes.io/selected-node"
PV_CONTROLLER = "persistentvolume-controller"
# pkg/controller/volume/persistentvolume/pv_controller_base.go (v1.33): every claim is synced again each
# --pvclaimbinder-sync-period (15 s), so its Pending events repeat that often
PV_RESYNC_SECONDS = 15.0


@dataclass(frozen=True)
class Provisioner:
    """A dynamic provisioner running in the cluster (kind ships ``rancher.io/local-path``).

    Its refusals are rancher/local-path-provisioner's (provisioner.go ``provisionFor``, master of 2025): a
    claim selector, then an access mode other than ReadWriteOnce/ReadWriteOncePod. A block-mode claim is
    refused before that by sig-storage-lib-external-provisioner (v11 controller.go
    ``provisionClaimOperation``) because local-path is no ``BlockProvisioner``. Its size limits are opt-in
    (config or StorageClass parameters); kind's default config sets none.
    """

    name: str
    access_modes: frozenset[str] = frozenset({"ReadWriteOnce", "ReadWriteOncePod"})
    instance: str = "local-path-provisioner-7dc846544d-zx6pk"
    access_mode_error: str = "NodePath only supports ReadWriteOnce and ReadWriteOncePod (1.22+) access modes"
    supports_block: bool = False

    @property
    def component(self) -> str:
        return f"{self.name}_{self.instance}_{'f2c5c5a2-3a8e-4b8b-9d34-0c6b2a6d7c11'}"

    def refuses_block(self, claim: Obj) -> str | None:
        """The library's own refusal, reported without the StorageClass prefix."""
        if (claim.get("spec") or {}).get("volumeMode") == "Block" and not self.supports_block:
            return f"{self.name} does not support block volume provisioning"
        return None

    def check(self, claim: Obj) -> str | None:
        """The provisioner's own refusal, or None."""
        spec = claim.get("spec") or {}
        if spec.get("selector") is not None:
            return "claim.Spec.Selector is not supported"
        for mode in spec.get("accessModes") or []:
            if mode not in self.access_modes:
                return self.access_mode_error
        return None


def _size(claim: Obj) -> Decimal:
    try:
        return parse_quantity(((claim["spec"].get("resources") or {}).get("requests") or {}).get("storage", "0"))
    except QuantityError:
        return Decimal(0)


class VolumeController:
    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        # claims the provisioner refused for good (ProvisioningFinished): it does not try them again
        self._refused: dict[str, str] = {}

    def sync(self) -> None:
        for claim in self.sim.objects("persistentvolumeclaims"):
            self._sync_claim(claim)
        for volume in self.sim.objects("persistentvolumes"):
            self._sync_volume(volume)

    def storage_class(self, claim: Obj) -> Obj | None:
        name = claim["spec"].get("storageClassName")
        return self.sim.get("storageclasses", None, name) if name else None

    def _sync_claim(self, claim: Obj) -> None:
        sim = self.sim
        meta, spec = claim["metadata"], claim["spec"]
        if meta.get("deletionTimestamp"):
            return
        volume_name = spec.get("volumeName")
        if volume_name:
            volume = sim.get("persistentvolumes", None, volume_name)
            if volume is not None:
                self._bind(claim, volume)
            elif (claim.get("status") or {}).get("phase") == "Bound":
                claim["status"] = {"phase": "Lost"}
                sim.save("persistentvolumeclaims", claim)
                sim.events.record(
                    claim,
                    "Warning",
                    "ClaimLost",
                    "Bound claim has lost its PersistentVolume. Data on the volume is lost!",
                    component=PV_CONTROLLER,
                )
            return
        self._pending(claim)
        class_name = spec.get("storageClassName")
        static = self._static_match(claim)
        if static is not None:
            self._bind(claim, static)
            return
        if class_name == "":
            sim.events.record(
                claim,
                "Normal",
                "FailedBinding",
                "no persistent volumes available for this claim and no storage class is set",
                component=PV_CONTROLLER,
                every=PV_RESYNC_SECONDS,
            )
            return
        storage_class = self.storage_class(claim)
        if storage_class is None:
            sim.events.record(
                claim,
                "Warning",
                "ProvisioningFailed",
                f'storageclass.storage.k8s.io "{class_name}" not found',
                component=PV_CONTROLLER,
                every=PV_RESYNC_SECONDS,
            )
            return
        wait = storage_class.get("volumeBindingMode") == "WaitForFirstConsumer"
        node = (meta.get("annotations") or {}).get(SELECTED_NODE)
        if wait and not node:
            sim.events.record(
                claim,
                "Normal",
                "WaitForFirstConsumer",
                "waiting for first consumer to be created before binding",
                component=PV_CONTROLLER,
                every=PV_RESYNC_SECONDS,
            )
            return
        self.provision(claim, storage_class, node)

    def provision(self, claim: Obj, storage_class: Obj, node: str | None) -> bool:
        sim = self.sim
        meta = claim["metadata"]
        name = storage_class.get("provisioner", "")
        sim.events.record(
            claim,
            "Normal",
            "ExternalProvisioning",
            f"Waiting for a volume to be created either by the external provisioner '{name}' or "
            "manually by the system administrator. If volume creation is delayed, please verify that "
            "the provisioner is running and correctly registered.",
            component=PV_CONTROLLER,
            every=PV_RESYNC_SECONDS,
        )
        annotations = meta.setdefault("annotations", {})
        if annotations.get("volume.kubernetes.io/storage-provisioner") != name:
            annotations["volume.beta.kubernetes.io/storage-provisioner"] = name
            annotations["volume.kubernetes.io/storage-provisioner"] = name
            claim = sim.saved("persistentvolumeclaims", claim)
        provisioner = sim.provisioners.get(name)
        if provisioner is None:
            return False
        refusal = provisioner.refuses_block(claim)
        if refusal is None and (reason := provisioner.check(claim)) is not None:
            refusal = f'failed to provision volume with StorageClass "{storage_class["metadata"]["name"]}": {reason}'
        if refusal is not None and self._refused.get(meta["uid"]) == refusal:
            return False
        sim.events.record(
            claim,
            "Normal",
            "Provisioning",
            f'External provisioner is provisioning volume for claim "{meta["namespace"]}/{meta["name"]}"',
            component=provisioner.component,
        )
        if refusal is not None:
            sim.events.record(claim, "Warning", "ProvisioningFailed", refusal, component=provisioner.component)
            self._refused[meta["uid"]] = refusal
            return False
        node = node or sim.any_schedulable_node()
        volume_name = f"pvc-{meta['uid']}"
        size = claim["spec"]["resources"]["requests"]["storage"]
        volume: Obj = {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {
                "name": volume_name,
                "annotations": {
                    "pv.kubernetes.io/provisioned-by": name,
                    "local.path.provisioner/selected-node": node or "",
                },
                "finalizers": ["kubernetes.io/pv-protection"],
            },
            "spec": {
                "accessModes": list(claim["spec"].get("accessModes") or []),
                "capacity": {"storage": size},
                "claimRef": {
                    "apiVersion": "v1",
                    "kind": "PersistentVolumeClaim",
                    "name": meta["name"],
                    "namespace": meta["namespace"],
                    "uid": meta["uid"],
                    "resourceVersion": meta.get("resourceVersion"),
                },
                "hostPath": {
                    "path": f"/var/local-path-provisioner/{volume_name}_{meta['namespace']}_{meta['name']}",
                    "type": "DirectoryOrCreate",
                },
                "nodeAffinity": {
                    "required": {
                        "nodeSelectorTerms": [
                            {
                                "matchExpressions": [
                                    {"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}
                                ]
                            }
                        ]
                    }
                }
                if node
                else None,
                "persistentVolumeReclaimPolicy": storage_class.get("reclaimPolicy", "Delete"),
                "storageClassName": storage_class["metadata"]["name"],
                "volumeMode": claim["spec"].get("volumeMode", "Filesystem"),
            },
        }
        if volume["spec"]["nodeAffinity"] is None:
            del volume["spec"]["nodeAffinity"]
        created = sim.create("persistentvolumes", volume)
        sim.events.record(
            claim,
            "Normal",
            "ProvisioningSucceeded",
            f"Successfully provisioned volume {volume_name}",
            component=provisioner.component,
        )
        self._bind(claim, created)
        return True

    def _static_match(self, claim: Obj) -> Obj | None:
        wanted_class = claim["spec"].get("storageClassName") or ""
        modes = set(claim["spec"].get("accessModes") or [])
        size = _size(claim)
        candidates = []
        for volume in self.sim.objects("persistentvolumes"):
            vspec = volume.get("spec") or {}
            if vspec.get("claimRef") or (volume.get("status") or {}).get("phase") not in (None, "Available"):
                continue
            if (vspec.get("storageClassName") or "") != wanted_class:
                continue
            if not modes <= set(vspec.get("accessModes") or []):
                continue
            try:
                capacity = parse_quantity((vspec.get("capacity") or {}).get("storage", "0"))
            except QuantityError:
                continue
            if capacity >= size:
                candidates.append((capacity, volume["metadata"]["name"], volume))
        if not candidates:
            return None
        return sorted(candidates, key=lambda c: (c[0], c[1]))[0][2]

    def _pending(self, claim: Obj) -> None:
        if claim.get("status") != {"phase": "Pending"}:
            claim["status"] = {"phase": "Pending"}
            self.sim.save("persistentvolumeclaims", claim)

    def _bind(self, claim: Obj, volume: Obj) -> None:
        sim = self.sim
        meta = claim["metadata"]
        vspec = volume["spec"]
        ref = vspec.get("claimRef") or {}
        if ref.get("uid") not in (None, meta["uid"]):
            return
        if ref.get("uid") is None:
            vspec["claimRef"] = {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "name": meta["name"],
                "namespace": meta["namespace"],
                "uid": meta["uid"],
                "resourceVersion": meta.get("resourceVersion"),
            }
            volume.setdefault("metadata", {}).setdefault("annotations", {})["pv.kubernetes.io/bound-by-controller"] = (
                "yes"
            )
        if volume.get("status") != {"phase": "Bound"}:
            volume["status"] = {"phase": "Bound"}
        sim.save("persistentvolumes", volume)
        annotations = meta.setdefault("annotations", {})
        annotations["pv.kubernetes.io/bind-completed"] = "yes"
        annotations["pv.kubernetes.io/bound-by-controller"] = "yes"
        claim["spec"]["volumeName"] = volume["metadata"]["name"]
        claim["status"] = {
            "phase": "Bound",
            "accessModes": list(vspec.get("accessModes") or []),
            "capacity": dict(vspec.get("capacity") or {}),
        }
        sim.save("persistentvolumeclaims", claim)

    def _sync_volume(self, volume: Obj) -> None:
        sim = self.sim
        ref = volume["spec"].get("claimRef")
        if not ref:
            if volume.get("status") != {"phase": "Available"}:
                volume["status"] = {"phase": "Available"}
                sim.save("persistentvolumes", volume)
            return
        claim = sim.get("persistentvolumeclaims", ref.get("namespace"), ref.get("name"))
        if claim is not None and claim["metadata"]["uid"] == ref.get("uid"):
            return
        if volume["spec"].get("persistentVolumeReclaimPolicy", "Retain") == "Delete":
            sim.delete("persistentvolumes", None, volume["metadata"]["name"], force=True)
        elif (volume.get("status") or {}).get("phase") != "Released":
            volume["status"] = {"phase": "Released"}
            sim.save("persistentvolumes", volume)


class ClaimProtection:
    """``kubernetes.io/pvc-protection``: a claim in use by a pod is deleted only after the pod is gone."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    def sync(self) -> None:
        sim = self.sim
        for claim in sim.objects("persistentvolumeclaims"):
            meta = claim["metadata"]
            if not meta.get("deletionTimestamp"):
                continue
            in_use = any(
                (v.get("persistentVolumeClaim") or {}).get("claimName") == meta["name"]
                for pod in sim.objects("pods", meta["namespace"])
                if (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
                for v in pod["spec"].get("volumes") or []
            )
            if in_use:
                continue
            meta["finalizers"] = [f for f in meta.get("finalizers") or [] if f != "kubernetes.io/pvc-protection"]
            sim.save("persistentvolumeclaims", claim)
            if not meta["finalizers"]:
                sim.delete("persistentvolumeclaims", meta["namespace"], meta["name"], force=True)
