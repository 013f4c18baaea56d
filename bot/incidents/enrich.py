"""What the cluster says about an alert: the Pods it concerns and their recent Events, printed like kubectl.

An alert's labels name the objects (`bot.incidents.targets`); one snapshot of the namespace gives their
Pods and Events, which become kubectl's facts (`bot.incidents.kubectl`) and a plain-text block that fits
the size it was given (`bot.incidents.fit`).

Only namespaces that carry the bot's label are read, and the namespace is read afresh for every alert
(`Cluster.assert_managed`), so an alert about a namespace the bot stopped managing shows nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime

from bot.cluster import Cluster
from bot.errors import ClusterError, ClusterForbidden, NamespaceNotManaged
from bot.i18n import Message
from bot.incidents.fit import ClusterContext
from bot.incidents.kubectl import event_facts, pod_facts
from bot.incidents.targets import Related, Wanted
from bot.values import is_dns1123_label


async def cluster_context(
    cluster: Cluster, labels: Mapping[str, str], *, now: datetime, max_events: int = 8, max_chars: int = 1500
) -> ClusterContext | None:
    """The Pods and recent Events an alert's labels point at, or None when there is nothing the bot may read.

    None: no valid `namespace` label, no label naming an object (pod, deployment, statefulset, job_name,
    service, persistentvolumeclaim, horizontalpodautoscaler, node), or a namespace the bot does not manage.
    When the namespace cannot be read at all (API down, timeout, 403), the context says so in `text`
    rather than being None, so the incident thread tells why it has no cluster context.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if max_events < 0:
        raise ValueError("max_events must not be negative")
    # A namespace name is a DNS-1123 label. The label comes from a webhook and goes into a URL path:
    # anything else (a "/" in particular) must not reach the API server.
    namespace = labels.get("namespace", "")
    wanted = Wanted.from_labels(labels)
    if not is_dns1123_label(namespace) or not wanted.subjects:
        return None
    try:
        await cluster.assert_managed(namespace)
    except NamespaceNotManaged:
        return None
    except ClusterError as exc:
        forbidden = isinstance(exc, ClusterForbidden)
        reason = Message("cluster.forbidden", {"kind": "Namespace"}) if forbidden else exc.reason
        empty = ClusterContext(
            namespace=namespace,
            subjects=wanted.subjects,
            pods=(),
            pods_left_out=0,
            events=(),
            events_left_out=0,
            not_found=(),
            not_listed=(),
            unavailable=reason,
            text="",
        )
        return replace(empty, text=empty.render(max_chars))

    snapshot = await cluster.snapshot(namespace, wanted.kinds, field_selectors=wanted.field_selectors)
    related = Related(snapshot, wanted)
    pods, pods_out = related.pods_to_show()
    events, events_out = related.events_to_show(pods, max_events)
    context = ClusterContext(
        namespace=namespace,
        subjects=wanted.subjects,
        pods=tuple(pod_facts(p, now) for p in pods),
        pods_left_out=pods_out,
        events=tuple(event_facts(e, now) for e in events),
        events_left_out=events_out,
        not_found=tuple(related.not_found),
        not_listed=tuple(sorted(snapshot.errors.items())),
        unavailable=None,
        text="",
    )
    return replace(context, text=context.render(max_chars))
