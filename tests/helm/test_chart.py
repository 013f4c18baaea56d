"""The Helm chart helm/kubecamp-bot, rendered offline with Helm's own Go library (helm-python-sdk).

Every built-in object is checked against the Kubernetes OpenAPI schema (kubernetes-validate, strict);
the prometheus-operator objects against the fields they need. The ClusterRole is compared with what the
scenario catalogue, bot/kinds.py, bot/cluster.py, bot/challenges/preflight.py and bot/incidents/targets.py
actually use, the
PrometheusRule with alert_rules/, and the dashboard's queries with the metrics the bot exports.

`dashboard_metric_names()` is meant for reuse (the live-scrape check compares it with a real /metrics).
"""

from __future__ import annotations

import base64
import copy
import functools
import json
import re
import shutil
import typing
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import helm_python
import pytest
import yaml

from bot import config
from bot.challenges.catalog import load_catalog
from bot.challenges.preflight import OBSERVED_KINDS
from bot.incidents.targets import Wanted
from bot.kinds import BY_NAME, KINDS
from bot.metrics import Metrics
from bot.team_namespace import NamespaceSetup
from bot.yaml_safe import SafeLoader
from tests import kube_schemas

REPO = Path(__file__).resolve().parents[2]
CHART_DIR = REPO / "helm" / "kubecamp-bot"
DASHBOARD = CHART_DIR / "dashboards" / "kubecamp-bot.json"
SCENARIOS_DIR = "/app/scenarios"  # the image's KUBECAMP_SCENARIOS_DIR, where the chart mounts the catalogue
RELEASE = "kubecamp"
NAMESPACE = "kubecamp"
FULLNAME = "kubecamp-kubecamp-bot"  # "<release>-<chart>": the release name does not contain the chart name
SCENARIOS_SECRET = f"{FULLNAME}-scenarios"
CLUSTER_ROLE = f"{NAMESPACE}-{FULLNAME}"  # cluster-scoped: the release namespace is part of the name
TEAM_ROLE = f"{CLUSTER_ROLE}-team"
TEAM_ACCESS = f"{CLUSTER_ROLE}-team-access"

# What an instructor must set: the chart refuses to render without the Discord token (or existingSecret).
REQUIRED: dict[str, Any] = {"discord": {"token": "discord-test-token", "instructorRole": "523456789012345678"}}
INSTRUCTOR: dict[str, Any] = {
    "discord": {
        "token": "discord-test-token",
        "guildIds": ["123456789012345678"],
        "instructorRole": "523456789012345678",
    },
    "webhook": {"token": "webhook-test-token"},
}
ALL_ON: dict[str, Any] = {
    "discord": {
        "token": "discord-test-token",
        "guildIds": ["123456789012345678", "223456789012345678"],
        "instructorRole": "523456789012345678",
        "alertsChannel": "323456789012345678",
        "announcementsChannel": "333456789012345678",
        "instructorsChannel": "343456789012345678",
        "boardStuckMinutes": 20,
        "applicationId": "423456789012345678",
        "apiBase": "http://discord-proxy:8080/api/v10",
        "gatewayUrl": "ws://discord-proxy:8080/",
    },
    "webhook": {"token": "webhook-test-token"},
    "alertmanager": {"url": "http://alertmanager-operated.monitoring:9093"},
    "log": {"format": "json"},
    "serviceMonitor": {"enabled": True, "labels": {"release": "kube-prometheus-stack"}},
    "prometheusRule": {"enabled": True, "labels": {"release": "kube-prometheus-stack"}},
    "alertmanagerConfig": {
        "enabled": True,
        "labels": {"alertmanagerConfig": "kubecamp"},
        "matchers": [{"name": "namespace", "value": "kubecamp-.*", "matchType": "=~"}],
    },
    "grafanaDashboard": {"enabled": True, "namespace": "monitoring", "annotations": {"grafana_folder": "Kubecamp"}},
    "networkPolicy": {"enabled": True},
    "podAnnotations": {"example.com/team": "instructors"},
    "podLabels": {"example.com/class": "2025-fall"},
    "imagePullSecrets": [{"name": "ghcr-pull"}],
    "priorityClassName": "kubecamp",
    "nodeSelector": {"kubernetes.io/os": "linux"},
    "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "kubecamp", "effect": "NoSchedule"}],
    "affinity": {
        "nodeAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 1, "preference": {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["x"]}]}}
            ]
        }
    },
    "serviceAccount": {"annotations": {"example.com/role": "kubecamp"}},
    "service": {"annotations": {"example.com/scrape": "true"}},
    "persistence": {"storageClass": "standard", "annotations": {"helm.sh/resource-policy": "keep"}},
    "extraEnv": [{"name": "KUBECAMP_WEBHOOK_USERNAME", "value": "alertmanager"}],
}
EXISTING_SECRET: dict[str, Any] = {
    "discord": {"instructorRole": "523456789012345678"},
    "existingSecret": "kubecamp-tokens",
    "existingSecretKeys": {"discordToken": "bot-token", "webhookToken": "am-token"},
    "alertmanagerConfig": {"enabled": True},
}
EXISTING_CLAIM: dict[str, Any] = {**INSTRUCTOR, "persistence": {"existingClaim": "kubecamp-data"}}
NO_PERSISTENCE: dict[str, Any] = {**INSTRUCTOR, "persistence": {"enabled": False}}
NO_CRDS: dict[str, Any] = {**INSTRUCTOR, "rbac": {"challenge5Crds": False}}
NO_PREFLIGHT: dict[str, Any] = {**INSTRUCTOR, "preflight": {"enabled": False}}

VALUE_SETS = {
    "required": REQUIRED,
    "instructor": INSTRUCTOR,
    "all-on": ALL_ON,
    "existing-secret": EXISTING_SECRET,
    "existing-claim": EXISTING_CLAIM,
    "no-persistence": NO_PERSISTENCE,
    "no-crds": NO_CRDS,
    "no-preflight": NO_PREFLIGHT,
}

CRD_KINDS = {"ServiceMonitor", "PrometheusRule", "AlertmanagerConfig"}


def exported() -> tuple[set[str], set[str]]:
    """The bot's own registry (bot/metrics.py), every label set started: its kubecamp_ families and the
    series names a scrape shows (counters with _total, histograms with _bucket/_sum/_count)."""
    metrics = Metrics()
    metrics.know_challenges([2])
    families = list(metrics.registry.collect())
    return (
        {f.name for f in families if f.name.startswith("kubecamp_")},
        {sample.name for f in families for sample in f.samples},
    )


# --- rendering ----------------------------------------------------------------------------------


@functools.cache
def _chart() -> helm_python.Chart:
    return helm_python.Chart.load(CHART_DIR)


def merged(*parts: dict[str, Any]) -> dict[str, Any]:
    """Deep merge of values dicts, later ones winning."""
    out: dict[str, Any] = {}
    for part in parts:
        for key, value in part.items():
            if isinstance(value, dict) and isinstance(out.get(key), dict):
                out[key] = merged(out[key], value)
            else:
                out[key] = copy.deepcopy(value)
    return out


def render_files(
    values: dict[str, Any] | None, *, name: str = RELEASE, namespace: str = NAMESPACE, chart: Any = None
) -> dict[str, str]:
    if chart is not None:
        return dict(chart.render(values, name=name, namespace=namespace, is_install=True))
    return dict(_rendered(json.dumps(values, sort_keys=True), name, namespace))


@functools.cache
def _rendered(values: str, name: str, namespace: str) -> tuple[tuple[str, str], ...]:
    """The repository's chart rendered with `values` (as canonical JSON): many tests render the same values, and
    a render is tens of milliseconds. The files are text, so each caller's dict of them is its own."""
    return tuple(_chart().render(json.loads(values), name=name, namespace=namespace, is_install=True).items())


def render(values: dict[str, Any] | None, **kwargs: Any) -> list[dict[str, Any]]:
    """Every object the chart renders, in template order (NOTES.txt left out)."""
    files = render_files(values, **kwargs)
    return [
        doc
        for path, text in sorted(files.items())
        if not path.endswith("NOTES.txt")
        for doc in yaml.load_all(text, Loader=SafeLoader)
        if doc
    ]


def notes(values: dict[str, Any]) -> str:
    return render_files(values)["kubecamp-bot/templates/NOTES.txt"]


def one(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    found = [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def kinds(objects: list[dict[str, Any]]) -> list[str]:
    return sorted(o["kind"] for o in objects)


def pod_spec(objects: list[dict[str, Any]]) -> dict[str, Any]:
    spec: dict[str, Any] = one(objects, "Deployment")["spec"]["template"]["spec"]
    return spec


def container(objects: list[dict[str, Any]]) -> dict[str, Any]:
    containers = pod_spec(objects)["containers"]
    assert len(containers) == 1
    result: dict[str, Any] = containers[0]
    return result


def env(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container(objects).get("env", [])}


def checksums(values: dict[str, Any]) -> dict[str, str]:
    annotations = one(render(values), "Deployment")["spec"]["template"]["metadata"]["annotations"]
    return {k: v for k, v in annotations.items() if k.startswith("checksum/")}


# --- the dashboard's metric names (reusable) -----------------------------------------------------

_PROMQL_KEYWORDS = {
    "and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right", "inf",
    "nan",
}  # fmt: skip


def promql_metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (function names, labels and keywords left out)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # strings
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # range selectors
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)  # label lists
    names = re.findall(r"(?<![\w:$.])([A-Za-z_:][\w:]*)(?![\w:])(?!\s*\()", text)
    return {n for n in names if n.lower() not in _PROMQL_KEYWORDS}


def dashboard_exprs(dashboard: dict[str, Any] | None = None) -> list[str]:
    """Every PromQL expression of the dashboard: panel targets (rows' nested panels too) and query variables."""
    board = dashboard if dashboard is not None else json.loads(DASHBOARD.read_text(encoding="utf-8"))

    def panels(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for panel in items:
            yield panel
            yield from panels(panel.get("panels") or [])

    exprs = [t["expr"] for p in panels(board.get("panels") or []) for t in p.get("targets") or [] if t.get("expr")]
    for variable in (board.get("templating") or {}).get("list") or []:
        if variable.get("type") != "query":
            continue
        query = variable.get("query")
        text = query.get("query", "") if isinstance(query, dict) else str(query or "")
        # label_values(<selector>, <label>): only the selector is PromQL.
        match = re.fullmatch(r"\s*label_values\(\s*(.*?)\s*(?:,\s*[\w]+\s*)?\)\s*", text)
        exprs.append(match.group(1) if match else text)
    return exprs


def dashboard_metric_names(dashboard: dict[str, Any] | None = None) -> set[str]:
    """The metric (series) names the Grafana dashboard helm/kubecamp-bot/dashboards/kubecamp-bot.json queries."""
    return {name for expr in dashboard_exprs(dashboard) for name in promql_metric_names(expr)}


# --- what the bot uses of the Kubernetes API ------------------------------------------------------

WRITE = {"create", "patch", "delete"}  # server-side apply (PATCH, creating when absent) and teardown
ENRICH_LABELS = (
    "pod", "deployment", "service", "persistentvolumeclaim", "horizontalpodautoscaler", "node", "statefulset",
    "job_name",
)  # fmt: skip


def needed_permissions(
    *, challenge5_crds: bool, preflight: bool, prometheuses: bool = False
) -> dict[tuple[str, str], set[str]]:
    """(apiGroup, resource) → verbs, from the code and the catalogue.

    - bot/cluster.py: GET and POST namespaces (ensure_namespace, assert_managed), then POST what
      bot/team_namespace.py sets up in a new one; server-side apply is a PATCH
      with fieldManager and force (create + patch); teardown DELETEs; a snapshot is one list per kind. The
      discovery GETs (/api/v1, /apis/<group>/<version>) and GET /version are non-resource URLs every
      authenticated user may read (system:discovery, system:public-info-viewer): no rule needed.
    - the catalogue: the kinds each scenario applies and the kinds its checks read; a cluster-scope scenario
      never runs (RunService skips it), so it is neither applied nor read; the kinds a build's criteria read.
    - bot/incidents/targets.py: the kinds one alert can make it list.
    - bot/challenges/preflight.py (the helm test Pod, with the bot's ServiceAccount, `--broken-only`: the
      deployed catalogue has no solutions): it deletes its scratch namespaces (Cluster.delete_namespace); in
      them it applies each namespaced scenario's broken manifests, reads the checks' kinds, and lists
      OBSERVED_KINDS to say what the cluster said. Cluster-scope scenarios it always skips.
    """
    needed: dict[tuple[str, str], set[str]] = defaultdict(set)
    needed[("", "namespaces")] |= {"get", "create"}
    for challenge in load_catalog(REPO / "scenarios"):
        for scenario in challenge.scenarios:
            if scenario.spec.scope == "cluster":
                continue  # skipped by RunService: neither applied nor read
            for manifest in scenario.manifests:
                kind = KINDS[(manifest.body["apiVersion"], manifest.body["kind"])]
                needed[(kind.group, kind.plural)] |= WRITE
            for kind_name in scenario.kinds:
                kind = BY_NAME[kind_name]
                needed[(kind.group, kind.plural)].add("list")
        for criterion in challenge.rubric:  # a build applies nothing; its criteria's checks read
            for kind_name in criterion.kinds:
                kind = BY_NAME[kind_name]
                needed[(kind.group, kind.plural)].add("list")
    for kind_name in Wanted.from_labels(dict.fromkeys(ENRICH_LABELS, "x")).kinds:
        kind = BY_NAME[kind_name]
        needed[(kind.group, kind.plural)].add("list")
    if preflight:
        needed[("", "namespaces")].add("delete")
        for challenge in load_catalog(REPO / "scenarios"):
            for scenario in challenge.scenarios:
                if scenario.spec.scope == "cluster":
                    continue
                for manifest in scenario.manifests:
                    kind = KINDS[(manifest.body["apiVersion"], manifest.body["kind"])]
                    needed[(kind.group, kind.plural)] |= WRITE | {"list"}
                for kind_name in scenario.kinds:
                    kind = BY_NAME[kind_name]
                    needed[(kind.group, kind.plural)].add("list")
        for kind_name in OBSERVED_KINDS:
            kind = BY_NAME[kind_name]
            needed[(kind.group, kind.plural)].add("list")
    for path, _ in NamespaceSetup(team_role=TEAM_ROLE, service_account=(NAMESPACE, FULLNAME)).objects("x"):
        group = path.split("/")[2] if path.startswith("/apis/") else ""
        needed[(group, path.rsplit("/", 1)[1])].add("create")
    if not challenge5_crds:
        crd_resources = {(k.group, k.plural) for k in BY_NAME.values() if k.crd}
        needed = defaultdict(set, {key: verbs for key, verbs in needed.items() if key not in crd_resources})
    if not prometheuses:  # the monitoring scenario then fails to start: the operator's Pods are not the bot's
        needed.pop(("monitoring.coreos.com", "prometheuses"), None)
    return dict(needed)


#: What the bot needs before a namespace is there or outside any: the rest is the team role's.
CLUSTER_WIDE = {
    ("", "namespaces"), ("", "nodes"), ("storage.k8s.io", "storageclasses"), ("", "resourcequotas"),
    ("", "limitranges"), ("rbac.authorization.k8s.io", "rolebindings"),
}  # fmt: skip


def team_role_parts(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ClusterRoles the team role aggregates (as the API server's aggregation controller selects them)."""
    team = one(objects, "ClusterRole", TEAM_ROLE)
    (selector,) = team["aggregationRule"]["clusterRoleSelectors"]
    return [
        o
        for o in objects
        if o["kind"] == "ClusterRole" and selector["matchLabels"].items() <= o["metadata"]["labels"].items()
    ]


def team_permissions(objects: list[dict[str, Any]]) -> dict[tuple[str, str], set[str]]:
    granted: dict[tuple[str, str], set[str]] = defaultdict(set)
    for part in team_role_parts(objects):
        for key, verbs in granted_permissions(part).items():
            granted[key] |= verbs
    return dict(granted)


def granted_permissions(role: dict[str, Any]) -> dict[tuple[str, str], set[str]]:
    """(apiGroup, resource) → verbs, of the rules that name no object (see bind_rule)."""
    granted: dict[tuple[str, str], set[str]] = defaultdict(set)
    for rule in role["rules"]:
        if rule.get("resourceNames"):
            continue
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                granted[(group, resource)] |= set(rule["verbs"])
    return dict(granted)


# --- Pod Security Standards: restricted ----------------------------------------------------------

_RESTRICTED_VOLUMES = {
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret",
}  # fmt: skip


def restricted_violations(spec: dict[str, Any]) -> list[str]:
    """What keeps a pod spec from the restricted Pod Security Standard (baseline rules included)."""
    problems: list[str] = []
    pod_sc = spec.get("securityContext") or {}
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(field):
            problems.append(f"{field} is true")
    for volume in spec.get("volumes") or []:
        types = set(volume) - {"name"}
        if not types <= _RESTRICTED_VOLUMES:
            problems.append(f"volume {volume['name']} is of type {sorted(types)}")
    if pod_sc.get("runAsUser") == 0:
        problems.append("pod runAsUser is 0")
    if (pod_sc.get("seccompProfile") or {}).get("type") == "Unconfined":
        problems.append("pod seccompProfile is Unconfined")
    for sysctl in pod_sc.get("sysctls") or []:
        problems.append(f"sysctl {sysctl['name']} is set")
    containers = (spec.get("initContainers") or []) + spec["containers"] + (spec.get("ephemeralContainers") or [])
    for c in containers:
        sc = c.get("securityContext") or {}
        name = c["name"]
        if sc.get("privileged"):
            problems.append(f"{name}: privileged")
        if sc.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{name}: allowPrivilegeEscalation is not false")
        run_as_non_root = sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot"))
        if run_as_non_root is not True:
            problems.append(f"{name}: runAsNonRoot is not true")
        if sc.get("runAsUser", pod_sc.get("runAsUser")) == 0:
            problems.append(f"{name}: runAsUser is 0")
        seccomp = (sc.get("seccompProfile") or pod_sc.get("seccompProfile") or {}).get("type")
        if seccomp not in ("RuntimeDefault", "Localhost"):
            problems.append(f"{name}: seccompProfile is {seccomp!r}, not RuntimeDefault or Localhost")
        capabilities = sc.get("capabilities") or {}
        if "ALL" not in (capabilities.get("drop") or []):
            problems.append(f"{name}: capabilities do not drop ALL")
        if set(capabilities.get("add") or []) - {"NET_BIND_SERVICE"}:
            problems.append(f"{name}: capabilities add {capabilities['add']}")
        if sc.get("procMount") not in (None, "Default"):
            problems.append(f"{name}: procMount {sc['procMount']}")
        for port in c.get("ports") or []:
            if port.get("hostPort"):
                problems.append(f"{name}: hostPort {port['hostPort']}")
    return problems


# --- the custom resources: the fields they need ---------------------------------------------------

_DURATION = re.compile(r"^(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?$")


def check_custom_resource(obj: dict[str, Any]) -> None:
    meta = obj["metadata"]
    assert meta["name"] and meta["namespace"]
    assert all(isinstance(v, str) for v in meta.get("labels", {}).values())
    spec = obj["spec"]
    if obj["kind"] == "ServiceMonitor":
        assert obj["apiVersion"] == "monitoring.coreos.com/v1"
        assert spec["selector"]["matchLabels"]
        assert spec["endpoints"]
        for endpoint in spec["endpoints"]:
            assert set(endpoint) <= {"port", "path", "scheme", "interval", "scrapeTimeout"}
            assert endpoint["port"] and endpoint["path"].startswith("/")
            assert _DURATION.match(endpoint["interval"]) and _DURATION.match(endpoint["scrapeTimeout"])
    elif obj["kind"] == "PrometheusRule":
        assert obj["apiVersion"] == "monitoring.coreos.com/v1"
        assert spec["groups"]
        assert len({g["name"] for g in spec["groups"]}) == len(spec["groups"]), "group names must be unique"
        for group in spec["groups"]:
            assert set(group) <= {"name", "interval", "rules", "limit", "partial_response_strategy", "labels"}
            for rule in group["rules"]:
                assert ("alert" in rule) != ("record" in rule)
                assert isinstance(rule["expr"], str) and rule["expr"].strip()
                assert set(rule) <= {"alert", "record", "expr", "for", "keep_firing_for", "labels", "annotations"}
                assert all(isinstance(v, str) for v in (rule.get("labels") or {}).values())
                assert all(isinstance(v, str) for v in (rule.get("annotations") or {}).values())
    elif obj["kind"] == "AlertmanagerConfig":
        assert obj["apiVersion"] == "monitoring.coreos.com/v1alpha1"
        receivers = {r["name"]: r for r in spec["receivers"]}
        assert spec["route"]["receiver"] in receivers
        for key in ("groupWait", "groupInterval", "repeatInterval"):
            assert _DURATION.match(spec["route"][key]) and spec["route"][key]
        for matcher in spec["route"].get("matchers", []):
            assert matcher["name"] and matcher.get("matchType", "=") in ("=", "!=", "=~", "!~")
        for receiver in receivers.values():
            for webhook in receiver["webhookConfigs"]:
                assert re.match(r"^https?://", webhook["url"])
                credentials = webhook["httpConfig"]["authorization"]["credentials"]
                assert credentials["name"] and credentials["key"]
    else:
        raise AssertionError(f"unexpected custom resource {obj['kind']}")


# === tests ========================================================================================


def test_chart_metadata() -> None:
    meta = yaml.safe_load((CHART_DIR / "Chart.yaml").read_text(encoding="utf-8"))
    assert meta["apiVersion"] == "v2"
    assert meta["name"] == "kubecamp-bot"
    assert meta["version"] == "0.1.0"
    assert meta["appVersion"] == "0.1.0"
    assert meta["description"] and meta["home"] and meta["sources"] and meta["keywords"]
    assert _chart().metadata["appVersion"] == "0.1.0"
    image = container(render(REQUIRED))["image"]
    assert image == "ghcr.io/kubecamp/kubecamp-bot:0.1.0"


@pytest.mark.parametrize("values", VALUE_SETS.values(), ids=VALUE_SETS.keys())
def test_every_object_is_valid(values: dict[str, Any]) -> None:
    objects = render(values)
    assert objects
    for obj in objects:
        if obj["kind"] in CRD_KINDS:
            check_custom_resource(obj)
        else:
            kube_schemas.validate(obj)
        labels = obj["metadata"]["labels"]
        preflight = obj["kind"] == "Pod"
        assert labels["app.kubernetes.io/name"] == ("kubecamp-bot-preflight" if preflight else "kubecamp-bot")
        assert labels["app.kubernetes.io/instance"] == RELEASE
        assert labels["app.kubernetes.io/version"] == "0.1.0"
        assert labels["app.kubernetes.io/managed-by"] == "Helm"
        assert labels["helm.sh/chart"] == "kubecamp-bot-0.1.0"


def test_the_documented_install_command_renders() -> None:
    """`helm install kubecamp ./helm/kubecamp-bot -n kubecamp --create-namespace --set discord.token=…
    --set webhook.token=… --set-string 'discord.guildIds={…}' --set-string discord.instructorRole=…`, with
    Helm's own parsing of --set."""
    values = merged(
        helm_python.parse_set_string("discord.token=abc123,webhook.token=s3cret-token"),
        helm_python.parse_set_string_values("discord.guildIds={123456789012345678}"),
    )
    values = merged(values, helm_python.parse_set_string_values("discord.instructorRole=234567890123456789"))
    _chart().validate_schema(values)
    objects = render(values)
    assert one(objects, "ConfigMap")["data"]["KUBECAMP_DISCORD_GUILD_IDS"] == "123456789012345678"
    assert one(objects, "ConfigMap")["data"]["KUBECAMP_DISCORD_INSTRUCTOR_ROLE"] == "234567890123456789"
    assert set(one(objects, "Secret", FULLNAME)["data"]) == {"discord-token", "webhook-token"}
    # Unquoted, an 18-digit id would lose digits as a float: the schema asks for a string instead.
    with pytest.raises(helm_python.HelmValuesError, match="/discord/guildIds/0"):
        render(merged(values, helm_python.parse_set_string("discord.guildIds={123456789012345678}")))
    with pytest.raises(helm_python.HelmValuesError, match="/discord/instructorRole"):
        render(merged(values, helm_python.parse_set_string("discord.instructorRole=234567890123456789")))


def test_default_objects() -> None:
    assert kinds(render(REQUIRED)) == [
        "ClusterRole", "ClusterRole", "ClusterRole", "ClusterRole", "ClusterRole", "ClusterRoleBinding",
        "ClusterRoleBinding", "ConfigMap", "Deployment", "NetworkPolicy", "PersistentVolumeClaim", "Pod", "Role",
        "Role", "RoleBinding", "RoleBinding", "Secret", "Secret", "Service", "ServiceAccount",
        "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
    ]  # fmt: skip


def test_every_optional_part_switched_on() -> None:
    objects = render(ALL_ON)
    assert kinds(objects) == [
        "AlertmanagerConfig", "ClusterRole", "ClusterRole", "ClusterRole", "ClusterRole", "ClusterRole",
        "ClusterRoleBinding", "ClusterRoleBinding", "ConfigMap", "ConfigMap", "Deployment",
        "NetworkPolicy", "PersistentVolumeClaim", "Pod", "PrometheusRule", "Role", "Role", "RoleBinding",
        "RoleBinding", "Secret", "Secret", "Service", "ServiceAccount", "ServiceMonitor", "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
    ]  # fmt: skip


def test_default_values_follow_the_schema() -> None:
    chart = _chart()
    chart.validate_schema(chart.values)
    for values in VALUE_SETS.values():
        chart.validate_schema(chart.merge_values(values))


@pytest.mark.parametrize("values", VALUE_SETS.values(), ids=VALUE_SETS.keys())
def test_pod_passes_the_restricted_pod_security_standard(values: dict[str, Any]) -> None:
    objects = render(values)
    spec = pod_spec(objects)
    assert restricted_violations(spec) == []
    pod_sc = spec["securityContext"]
    assert pod_sc["runAsNonRoot"] is True
    assert pod_sc["runAsUser"] == pod_sc["runAsGroup"] == pod_sc["fsGroup"] == 10001
    assert pod_sc["fsGroupChangePolicy"] == "OnRootMismatch"
    assert pod_sc["seccompProfile"] == {"type": "RuntimeDefault"}
    sc = container(objects)["securityContext"]
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["capabilities"]["drop"] == ["ALL"]
    assert sc["runAsNonRoot"] is True


def test_restricted_check_catches_a_violation() -> None:
    spec = pod_spec(render(REQUIRED))
    spec["containers"][0]["securityContext"]["allowPrivilegeEscalation"] = True
    spec["volumes"].append({"name": "host", "hostPath": {"path": "/"}})
    assert len(restricted_violations(spec)) == 2


def test_deployment() -> None:
    objects = render(INSTRUCTOR)
    deployment = one(objects, "Deployment")
    assert deployment["metadata"]["name"] == FULLNAME
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert selector == {"app.kubernetes.io/name": "kubecamp-bot", "app.kubernetes.io/instance": RELEASE}
    assert selector.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    spec = pod_spec(objects)
    assert spec["serviceAccountName"] == FULLNAME
    assert spec["automountServiceAccountToken"] is True
    assert spec["enableServiceLinks"] is False
    assert spec["terminationGracePeriodSeconds"] == 30
    c = container(objects)
    assert c["ports"] == [
        {"name": "http", "containerPort": 8080, "protocol": "TCP"},
        {"name": "probes", "containerPort": 8081, "protocol": "TCP"},
        {"name": "scoreboard", "containerPort": 8082, "protocol": "TCP"},
    ]
    # The probes on their own listener: a flood of the webhook's port does not keep the kubelet out.
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "probes"}
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "probes"}
    assert c["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "probes"}
    assert c["resources"] == {"requests": {"cpu": "100m", "memory": "192Mi"}, "limits": {"memory": "512Mi"}}
    assert c["envFrom"] == [{"configMapRef": {"name": FULLNAME}}]
    variables = env(objects)
    assert variables["KUBECAMP_DISCORD_TOKEN"]["valueFrom"] == {
        "secretKeyRef": {"name": FULLNAME, "key": "discord-token"}
    }
    assert variables["KUBECAMP_WEBHOOK_TOKEN"]["valueFrom"] == {
        "secretKeyRef": {"name": FULLNAME, "key": "webhook-token"}
    }
    assert variables["MPLCONFIGDIR"]["value"] == "/tmp/matplotlib"
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    assert mounts == {"data": "/var/lib/kubecamp", "tmp": "/tmp", "scenarios": SCENARIOS_DIR}
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert volumes["data"]["persistentVolumeClaim"] == {"claimName": FULLNAME}
    assert volumes["tmp"]["emptyDir"] == {}
    assert volumes["scenarios"]["secret"]["secretName"] == SCENARIOS_SECRET
    assert "checksum/config" in deployment["spec"]["template"]["metadata"]["annotations"]
    assert "checksum/secret" in deployment["spec"]["template"]["metadata"]["annotations"]
    assert "checksum/scenarios" in deployment["spec"]["template"]["metadata"]["annotations"]


def test_pod_options_from_values() -> None:
    objects = render(ALL_ON)
    spec = pod_spec(objects)
    meta = one(objects, "Deployment")["spec"]["template"]["metadata"]
    assert meta["annotations"]["example.com/team"] == "instructors"
    assert meta["labels"]["example.com/class"] == "2025-fall"
    assert spec["imagePullSecrets"] == [{"name": "ghcr-pull"}]
    assert spec["priorityClassName"] == "kubecamp"
    assert spec["nodeSelector"] == {"kubernetes.io/os": "linux"}
    assert spec["tolerations"] == ALL_ON["tolerations"]
    assert spec["affinity"] == ALL_ON["affinity"]
    assert env(objects)["KUBECAMP_WEBHOOK_USERNAME"]["value"] == "alertmanager"
    assert one(objects, "ServiceAccount")["metadata"]["annotations"] == {"example.com/role": "kubecamp"}
    pvc = one(objects, "PersistentVolumeClaim")
    assert pvc["spec"]["storageClassName"] == "standard"
    assert pvc["metadata"]["annotations"] == {"helm.sh/resource-policy": "keep"}


def test_image_digest_and_tag() -> None:
    digest = "sha256:" + "a" * 64
    assert container(render(merged(REQUIRED, {"image": {"digest": digest}})))["image"] == (
        f"ghcr.io/kubecamp/kubecamp-bot@{digest}"
    )
    assert container(render(merged(REQUIRED, {"image": {"tag": "0.2.0"}})))["image"].endswith(":0.2.0")


def _known_settings() -> set[str]:
    """Every KUBECAMP_* variable bot/config.py reads."""
    names: set[str] = set()
    for section in typing.get_type_hints(config.Settings).values():
        prefix = section.model_config.get("env_prefix", "")
        names |= {f"{prefix}{field}".upper() for field in section.model_fields}
    return names


@pytest.mark.parametrize("values", [REQUIRED, ALL_ON], ids=["required", "all-on"])
def test_configmap_is_what_the_bot_reads(values: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    objects = render(values)
    data = one(objects, "ConfigMap", FULLNAME)["data"]
    assert all(isinstance(v, str) for v in data.values())
    assert set(data) <= _known_settings(), set(data) - _known_settings()
    assert not {"KUBECAMP_DISCORD_TOKEN", "KUBECAMP_WEBHOOK_TOKEN", "KUBECAMP_WEBHOOK_PASSWORD"} & set(data)
    # The bot accepts every setting as the chart writes it.
    import os

    for name in list(os.environ):
        if name.startswith("KUBECAMP_"):
            monkeypatch.delenv(name)
    for name, value in data.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("KUBECAMP_DISCORD_TOKEN", "discord-test-token")
    settings = config.load_settings()
    assert settings.store.data_dir == Path("/var/lib/kubecamp")
    assert settings.store.retention_days == 90
    assert settings.catalog.language == "ko"
    assert settings.catalog.scenarios_dir == Path(SCENARIOS_DIR)
    assert settings.catalog.timezone == "Asia/Seoul"
    assert settings.kube.namespace_prefix == "kubecamp-"
    assert settings.kube.timeout_seconds == 10
    assert settings.kube.namespace_setup == NamespaceSetup(
        team_role=TEAM_ROLE, service_account=(NAMESPACE, FULLNAME), pod_security="baseline"
    )
    assert settings.discord.instructor_role == 523456789012345678
    assert settings.web.port == 8080
    assert settings.web.probe_port == 8081
    assert settings.store.data_min_free_mib == 64
    assert settings.webhook.max_body_bytes == 1048576
    assert settings.alertmanager.timeout_seconds == 10
    assert settings.alertmanager.edit_interval == 5
    assert settings.log.level == "INFO"
    if values is ALL_ON:
        assert settings.discord.guild_ids == [123456789012345678, 223456789012345678]
        assert settings.discord.alerts_channel == 323456789012345678
        assert settings.discord.api_base == "http://discord-proxy:8080/api/v10"
        assert settings.discord.gateway_url == "ws://discord-proxy:8080/"
        assert settings.alertmanager.url == "http://alertmanager-operated.monitoring:9093"
        assert data["KUBECAMP_LOG_FORMAT"] == "json"
    else:
        assert settings.discord.guild_ids == []
        assert settings.alertmanager.url is None
        assert data["KUBECAMP_LOG_FORMAT"] == "plain"


def test_secret() -> None:
    secret = one(render(INSTRUCTOR), "Secret", FULLNAME)
    assert secret["metadata"]["name"] == FULLNAME
    assert secret["type"] == "Opaque"
    decoded = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    assert decoded == {"discord-token": "discord-test-token", "webhook-token": "webhook-test-token"}


def test_without_a_webhook_token_the_webhook_is_off() -> None:
    objects = render(REQUIRED)
    assert set(one(objects, "Secret", FULLNAME)["data"]) == {"discord-token"}
    assert "KUBECAMP_WEBHOOK_TOKEN" not in env(objects)
    text = notes(REQUIRED)
    assert "WARNING: no webhook token is set" in text


def test_rendering_without_a_token_fails_naming_the_value() -> None:
    with pytest.raises(helm_python.HelmRenderError) as caught:
        render(None)
    message = str(caught.value)
    assert "discord.token is required" in message
    assert "existingSecret" in message


def test_rendering_without_the_instructor_role_fails_saying_how_to_copy_its_id() -> None:
    with pytest.raises(helm_python.HelmRenderError) as caught:
        render(merged(INSTRUCTOR, {"discord": {"instructorRole": ""}}))
    message = str(caught.value)
    assert "discord.instructorRole is required" in message
    assert "Copy Role ID" in message


def test_existing_secret() -> None:
    objects = render(EXISTING_SECRET)
    assert [o["metadata"]["name"] for o in objects if o["kind"] == "Secret"] == [SCENARIOS_SECRET], "no token Secret"
    variables = env(objects)
    assert variables["KUBECAMP_DISCORD_TOKEN"]["valueFrom"]["secretKeyRef"] == {
        "name": "kubecamp-tokens",
        "key": "bot-token",
    }
    assert variables["KUBECAMP_WEBHOOK_TOKEN"]["valueFrom"]["secretKeyRef"] == {
        "name": "kubecamp-tokens",
        "key": "am-token",
        "optional": True,
    }
    annotations = one(objects, "Deployment")["spec"]["template"]["metadata"]["annotations"]
    assert "checksum/config" in annotations
    assert "checksum/secret" not in annotations
    credentials = one(objects, "AlertmanagerConfig")["spec"]["receivers"][0]["webhookConfigs"][0]["httpConfig"]
    assert credentials["authorization"]["credentials"] == {"name": "kubecamp-tokens", "key": "am-token"}


def test_checksums_follow_the_config_and_the_secret() -> None:
    base = checksums(INSTRUCTOR)
    assert set(base) == {"checksum/config", "checksum/secret", "checksum/scenarios"}
    assert all(re.fullmatch(r"[0-9a-f]{64}", v) for v in base.values())
    assert checksums(INSTRUCTOR) == base  # stable
    language = checksums(merged(INSTRUCTOR, {"catalog": {"language": "en"}}))
    assert language["checksum/config"] != base["checksum/config"]
    assert language["checksum/secret"] == base["checksum/secret"]
    assert language["checksum/scenarios"] == base["checksum/scenarios"]
    token = checksums(merged(INSTRUCTOR, {"webhook": {"token": "another-token"}}))
    assert token["checksum/secret"] != base["checksum/secret"]
    assert token["checksum/config"] == base["checksum/config"]


def test_persistent_volume_claim() -> None:
    pvc = one(render(INSTRUCTOR), "PersistentVolumeClaim")
    assert pvc["metadata"]["name"] == FULLNAME
    assert pvc["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert pvc["spec"]["resources"]["requests"]["storage"] == "1Gi"
    assert "storageClassName" not in pvc["spec"]  # the cluster's default
    no_class = one(render(merged(INSTRUCTOR, {"persistence": {"storageClass": "-"}})), "PersistentVolumeClaim")
    assert no_class["spec"]["storageClassName"] == ""


def test_the_claim_survives_helm_uninstall_unless_told_otherwise() -> None:
    kept = one(
        render(merged(INSTRUCTOR, {"persistence": {"annotations": {"backup": "nightly"}}})), "PersistentVolumeClaim"
    )
    assert kept["metadata"]["annotations"] == {"backup": "nightly", "helm.sh/resource-policy": "keep"}
    dropped = one(render(merged(INSTRUCTOR, {"persistence": {"keepOnUninstall": False}})), "PersistentVolumeClaim")
    assert "annotations" not in dropped["metadata"]


def test_existing_claim() -> None:
    objects = render(EXISTING_CLAIM)
    assert "PersistentVolumeClaim" not in kinds(objects)
    volumes = {v["name"]: v for v in pod_spec(objects)["volumes"]}
    assert volumes["data"]["persistentVolumeClaim"] == {"claimName": "kubecamp-data"}
    assert "existing claim kubecamp-data" in notes(EXISTING_CLAIM)


def test_persistence_disabled() -> None:
    objects = render(NO_PERSISTENCE)
    assert "PersistentVolumeClaim" not in kinds(objects)
    volumes = {v["name"]: v for v in pod_spec(objects)["volumes"]}
    assert volumes["data"] == {"name": "data", "emptyDir": {}}
    assert "WARNING: persistence.enabled is false" in notes(NO_PERSISTENCE)
    assert "WARNING: persistence" not in notes(INSTRUCTOR)


def test_service() -> None:
    objects = render(INSTRUCTOR)
    service = one(objects, "Service")
    assert service["metadata"]["name"] == FULLNAME
    assert service["spec"]["type"] == "ClusterIP"
    assert service["spec"]["ports"] == [
        {"name": "http", "port": 8080, "targetPort": "http", "protocol": "TCP"},
        {"name": "probes", "port": 8081, "targetPort": "probes", "protocol": "TCP"},
        {"name": "scoreboard", "port": 8082, "targetPort": "scoreboard", "protocol": "TCP"},
    ]
    pod_labels = one(objects, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()


# --- RBAC ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "crds", "preflight", "prometheuses"),
    [
        (REQUIRED, True, True, False),
        (NO_CRDS, False, True, False),
        (merged(REQUIRED, {"preflight": {"enabled": False}}), True, False, False),
        (merged(NO_CRDS, {"preflight": {"enabled": False}}), False, False, False),
        (merged(REQUIRED, {"rbac": {"prometheuses": True}}), True, True, True),
        (merged(NO_CRDS, {"rbac": {"prometheuses": True}}), False, True, False),
    ],
    ids=["default", "no-crds", "no-preflight", "no-crds-no-preflight", "prometheuses", "prometheuses-without-crds"],
)
def test_roles_are_exactly_what_the_bot_uses(
    values: dict[str, Any], crds: bool, preflight: bool, prometheuses: bool
) -> None:
    objects = render(values)
    needed = needed_permissions(challenge5_crds=crds, preflight=preflight, prometheuses=prometheuses)
    assert granted_permissions(one(objects, "ClusterRole", CLUSTER_ROLE)) == {
        key: verbs for key, verbs in needed.items() if key in CLUSTER_WIDE
    }
    assert team_permissions(objects) == {key: verbs for key, verbs in needed.items() if key not in CLUSTER_WIDE}


def test_cluster_wide_the_bot_only_makes_and_sets_up_namespaces() -> None:
    """A stolen token cannot write a workload, a ConfigMap or a Service outside a team namespace, nor patch
    or delete the quota, the limits or a RoleBinding anywhere."""
    granted = granted_permissions(one(render(REQUIRED), "ClusterRole", CLUSTER_ROLE))
    writes = {key for key, verbs in granted.items() if verbs & {"patch", "update", "delete", "deletecollection"}}
    assert writes == {("", "namespaces")}
    assert granted[("", "namespaces")] == {"create", "delete", "get"}  # delete: the preflight's scratch namespaces
    assert not {key for key, verbs in team_permissions(render(REQUIRED)).items() if "create" in verbs} & CLUSTER_WIDE


def test_no_prometheus_objects_by_default() -> None:
    assert ("monitoring.coreos.com", "prometheuses") not in team_permissions(render(REQUIRED))
    allowed = team_permissions(render(merged(REQUIRED, {"rbac": {"prometheuses": True}})))
    assert allowed[("monitoring.coreos.com", "prometheuses")] == {"create", "delete", "list", "patch"}


def test_only_the_preflight_deletes_namespaces() -> None:
    def namespace_verbs(values: dict[str, Any]) -> set[str]:
        return granted_permissions(one(render(values), "ClusterRole", CLUSTER_ROLE))[("", "namespaces")]

    assert namespace_verbs(REQUIRED) == {"create", "delete", "get"}
    assert namespace_verbs(NO_PREFLIGHT) == {"create", "get"}


def test_the_bot_may_bind_the_team_role_and_the_team_access_role_and_no_other() -> None:
    """RBAC lets a RoleBinding be made only by whoever holds its role's permissions there, or `bind` on it."""
    objects = render(REQUIRED)
    rules = [r for r in one(objects, "ClusterRole", CLUSTER_ROLE)["rules"] if r.get("resourceNames")]
    assert rules == [
        {
            "apiGroups": ["rbac.authorization.k8s.io"],
            "resources": ["clusterroles"],
            "verbs": ["bind"],
            "resourceNames": [TEAM_ROLE, TEAM_ACCESS],
        }
    ]
    without = render(merged(REQUIRED, {"teamAccess": {"enabled": False}}))
    [bind] = [r for r in one(without, "ClusterRole", CLUSTER_ROLE)["rules"] if r.get("resourceNames")]
    assert bind["resourceNames"] == [TEAM_ROLE]
    team = one(objects, "ClusterRole", TEAM_ROLE)
    assert team["rules"] == [], "the aggregation controller fills it"
    assert [p["metadata"]["name"] for p in team_role_parts(objects)] == [f"{TEAM_ROLE}-scenarios"]
    assert one(objects, "ConfigMap", FULLNAME)["data"]["KUBECAMP_KUBE_TEAM_ROLE"] == TEAM_ROLE


def test_role_rules_are_grouped_and_sorted() -> None:
    objects = render(REQUIRED)
    for role in (one(objects, "ClusterRole", CLUSTER_ROLE), one(objects, "ClusterRole", f"{TEAM_ROLE}-scenarios")):
        keys = []
        for rule in role["rules"]:
            if rule.get("resourceNames"):
                continue
            assert len(rule["apiGroups"]) == 1, "one apiGroup per rule"
            assert rule["resources"] == sorted(rule["resources"])
            assert rule["verbs"] == sorted(rule["verbs"])
            assert set(rule) == {"apiGroups", "resources", "verbs"}
            keys.append((rule["apiGroups"][0], tuple(rule["verbs"])))
        assert len(keys) == len(set(keys)), "one rule per (apiGroup, verbs)"
        groups = [group for group, _ in keys]
        assert groups == sorted(groups)


@pytest.mark.parametrize("values", VALUE_SETS.values(), ids=VALUE_SETS.keys())
def test_roles_have_no_wildcard_and_no_secrets(values: dict[str, Any]) -> None:
    """The students' role may update (kubectl replace, edit); the bot's never do."""
    for role in (o for o in render(values) if o["kind"] in ("ClusterRole", "Role")):
        if role["metadata"]["name"] == f"{FULLNAME}-team-clusters":  # reads teams' own clusters: test_team_clusters.py
            continue
        students = role["metadata"]["name"].startswith(TEAM_ACCESS)
        for rule in role["rules"]:
            for field in ("apiGroups", "resources", "verbs", "resourceNames", "nonResourceURLs"):
                assert "*" not in rule.get(field, []), rule
            assert "secrets" not in rule["resources"]
            assert not {"escalate", "impersonate", *(() if students else ("update",))} & set(rule["verbs"])
            if "bind" in rule["verbs"]:
                assert rule["resourceNames"] == [TEAM_ROLE, TEAM_ACCESS]


def test_no_scenario_applies_or_reads_secrets() -> None:
    for challenge in load_catalog(REPO / "scenarios", solutions=True):
        for scenario in challenge.scenarios:
            assert "Secret" not in scenario.kinds, scenario.id
            assert all(m.body["kind"] != "Secret" for m in scenario.manifests + scenario.solution), scenario.id


def test_cluster_role_binding() -> None:
    objects = render(INSTRUCTOR)
    binding = one(objects, "ClusterRoleBinding", CLUSTER_ROLE)
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": CLUSTER_ROLE}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": FULLNAME, "namespace": NAMESPACE}]
    assert one(objects, "ServiceAccount")["metadata"]["name"] == FULLNAME
    assert one(objects, "ConfigMap", FULLNAME)["data"]["KUBECAMP_KUBE_SERVICE_ACCOUNT"] == f"{NAMESPACE}/{FULLNAME}"


def test_rbac_and_service_account_can_be_left_out() -> None:
    objects = render(merged(REQUIRED, {"rbac": {"create": False}, "serviceAccount": {"create": False}}))
    assert not {"ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "ServiceAccount"} & set(kinds(objects))
    assert pod_spec(objects)["serviceAccountName"] == "default"
    assert "KUBECAMP_KUBE_TEAM_ROLE" not in one(objects, "ConfigMap", FULLNAME)["data"], "nothing to bind"
    named = render(merged(REQUIRED, {"serviceAccount": {"name": "kubecamp"}}))
    assert pod_spec(named)["serviceAccountName"] == "kubecamp"
    assert one(named, "ClusterRoleBinding", CLUSTER_ROLE)["subjects"][0]["name"] == "kubecamp"
    assert one(named, "ConfigMap", FULLNAME)["data"]["KUBECAMP_KUBE_SERVICE_ACCOUNT"] == f"{NAMESPACE}/kubecamp"


def test_extra_rules_join_the_team_role() -> None:
    extra = {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["list"]}
    objects = render(merged(REQUIRED, {"rbac": {"extraRules": [extra]}}))
    assert one(objects, "ClusterRole", f"{TEAM_ROLE}-extra")["rules"] == [extra]
    assert team_permissions(objects)[("batch", "jobs")] == {"list"}
    assert ("batch", "jobs") not in granted_permissions(one(objects, "ClusterRole", CLUSTER_ROLE))
    with pytest.raises(helm_python.HelmValuesError, match="/rbac/extraRules/0/verbs/0"):
        render(merged(REQUIRED, {"rbac": {"extraRules": [{**extra, "verbs": ["*"]}]}}))


# --- team access: the students' roles and what the bot needs to hand them out ----------------------


EDIT = {"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}
READ = {"get", "list", "watch"}


def test_a_team_edits_its_namespace_and_reads_what_a_diagnosis_needs() -> None:
    granted = granted_permissions(one(render(REQUIRED), "ClusterRole", TEAM_ACCESS))
    for key in [("", "pods"), ("", "services"), ("", "configmaps"), ("apps", "deployments"), ("apps", "statefulsets")]:
        assert granted[key] == EDIT, key
    for key in [("", "events"), ("", "pods/log"), ("", "resourcequotas"), ("", "limitranges")]:
        assert granted[key] == READ, key
    # Every kind a scenario applies, the team may fix.
    for challenge in load_catalog(REPO / "scenarios", solutions=True):
        for scenario in challenge.scenarios:
            if scenario.spec.scope == "cluster":
                continue
            for manifest in scenario.manifests + scenario.solution:
                kind = KINDS[(manifest.body["apiVersion"], manifest.body["kind"])]
                assert granted.get((kind.group, kind.plural), set()) >= {"create", "patch", "delete"}, scenario.id


def test_a_team_cannot_relabel_its_namespace_escalate_or_mint_tokens() -> None:
    granted = granted_permissions(one(render(REQUIRED), "ClusterRole", TEAM_ACCESS))
    assert granted[("", "namespaces")] == {"get"}  # its own, through the RoleBinding: never patch, label or delete
    rbac = {resource: verbs for (group, resource), verbs in granted.items() if group == "rbac.authorization.k8s.io"}
    assert rbac == {"roles": READ, "rolebindings": READ}
    assert ("", "serviceaccounts/token") not in granted
    assert not {key for key in granted if key[1] in ("resourcequotas", "limitranges")} & {
        key for key, verbs in granted.items() if verbs - READ
    }


def test_every_team_reads_nodes_and_storage_classes_through_one_group_binding() -> None:
    objects = render(REQUIRED)
    assert granted_permissions(one(objects, "ClusterRole", f"{TEAM_ACCESS}-cluster")) == {
        ("", "nodes"): READ,
        ("", "persistentvolumes"): READ,
        ("storage.k8s.io", "storageclasses"): READ,
    }
    binding = one(objects, "ClusterRoleBinding", f"{TEAM_ACCESS}-cluster")
    assert binding["subjects"] == [
        {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": f"system:serviceaccounts:{NAMESPACE}"}
    ]


def test_the_bot_may_make_team_accounts_and_their_tokens_in_its_namespace_only() -> None:
    objects = render(REQUIRED)
    role = one(objects, "Role", f"{FULLNAME}-team-accounts")
    assert role["metadata"]["namespace"] == NAMESPACE
    assert granted_permissions(role) == {
        ("", "serviceaccounts"): {"create", "delete", "get"},
        ("", "serviceaccounts/token"): {"create"},
    }
    binding = one(objects, "RoleBinding", f"{FULLNAME}-team-accounts")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": FULLNAME, "namespace": NAMESPACE}]
    assert ("", "serviceaccounts") not in granted_permissions(one(objects, "ClusterRole", CLUSTER_ROLE))


def test_team_access_settings_follow_the_values() -> None:
    data = one(render(REQUIRED), "ConfigMap", FULLNAME)["data"]
    assert data["KUBECAMP_KUBE_TEAM_ACCESS_ROLE"] == TEAM_ACCESS
    assert data["KUBECAMP_KUBE_TEAM_ACCOUNTS_NAMESPACE"] == NAMESPACE
    assert data["KUBECAMP_KUBE_TEAM_TOKEN_HOURS"] == "10"
    assert "KUBECAMP_KUBE_TEAM_SERVER" not in data
    values = merged(REQUIRED, {"teamAccess": {"server": "https://203.0.113.7:6443", "tokenHours": 30}})
    data = one(render(values), "ConfigMap", FULLNAME)["data"]
    assert (data["KUBECAMP_KUBE_TEAM_SERVER"], data["KUBECAMP_KUBE_TEAM_TOKEN_HOURS"]) == (
        "https://203.0.113.7:6443",
        "30",
    )
    for off in ({"teamAccess": {"enabled": False}}, {"rbac": {"create": False}}):
        objects = render(merged(REQUIRED, off))
        assert not [o for o in objects if o["metadata"]["name"].startswith(TEAM_ACCESS)]
        assert "KUBECAMP_KUBE_TEAM_ACCESS_ROLE" not in one(objects, "ConfigMap", FULLNAME)["data"]
    with pytest.raises(helm_python.HelmValuesError, match="/teamAccess/server"):
        render(merged(REQUIRED, {"teamAccess": {"server": "203.0.113.7:6443"}}))
    with pytest.raises(helm_python.HelmValuesError, match="/teamAccess/tokenHours"):
        render(merged(REQUIRED, {"teamAccess": {"tokenHours": 0.1}}))


# --- the helm test hook: kubecamp preflight --------------------------------------------------------


def preflight_pod(objects: list[dict[str, Any]]) -> dict[str, Any]:
    return one(objects, "Pod", f"{FULLNAME}-preflight")


def test_helm_test_runs_the_preflight_as_the_bot() -> None:
    objects = render(
        merged(INSTRUCTOR, {"preflight": {"challenges": [1, 2], "timeoutSeconds": 300, "settleSeconds": 20}})
    )
    pod = preflight_pod(objects)
    assert pod["metadata"]["namespace"] == NAMESPACE
    assert pod["metadata"]["annotations"] == {
        "helm.sh/hook": "test",
        "helm.sh/hook-delete-policy": "before-hook-creation",
    }
    spec = pod["spec"]
    bot = pod_spec(objects)
    assert spec["restartPolicy"] == "Never"
    assert spec["serviceAccountName"] == bot["serviceAccountName"] == FULLNAME
    assert spec["automountServiceAccountToken"] is True
    assert spec["securityContext"] == bot["securityContext"]
    (c,) = spec["containers"]
    assert c["image"] == container(objects)["image"] == "ghcr.io/kubecamp/kubecamp-bot:0.1.0"
    assert c["args"] == [
        "preflight", "--broken-only", "--timeout", "300", "--settle", "20", "--challenge", "1", "--challenge", "2"
    ]  # fmt: skip
    assert c["securityContext"] == container(objects)["securityContext"]
    assert c["envFrom"] == [{"configMapRef": {"name": FULLNAME}}]
    assert "env" not in c, "no token: the preflight talks to the cluster only"
    assert [v["name"] for v in spec["volumes"]] == ["tmp", "scenarios"], "not the bot's ReadWriteOnce claim"
    assert spec["volumes"][1] == {"name": "scenarios", **catalogue_volume(objects)}
    assert {"name": "scenarios", "mountPath": SCENARIOS_DIR, "readOnly": True} in c["volumeMounts"]
    assert restricted_violations(spec) == []
    # Not the bot for the Service (webhook, /metrics) nor for the NetworkPolicy.
    selector = one(objects, "Service")["spec"]["selector"]
    assert not selector.items() <= pod["metadata"]["labels"].items()
    assert pod["metadata"]["labels"]["app.kubernetes.io/instance"] == RELEASE


def test_the_preflight_defaults_prove_every_challenge() -> None:
    (c,) = preflight_pod(render(REQUIRED))["spec"]["containers"]
    assert c["args"] == ["preflight", "--broken-only", "--timeout", "180", "--settle", "15"]


def test_the_preflight_pod_follows_the_pod_options_and_the_catalogue_mount() -> None:
    mount = {"name": "catalogue", "mountPath": "/catalogue"}
    volume = {"name": "catalogue", "configMap": {"name": "my-scenarios"}}
    values = merged(ALL_ON, {"extraVolumes": [volume], "extraVolumeMounts": [mount]})
    spec = preflight_pod(render(values))["spec"]
    assert spec["imagePullSecrets"] == [{"name": "ghcr-pull"}]
    assert spec["priorityClassName"] == "kubecamp"
    assert spec["nodeSelector"] == {"kubernetes.io/os": "linux"}
    assert spec["tolerations"] == ALL_ON["tolerations"]
    assert spec["affinity"] == ALL_ON["affinity"]
    assert volume in spec["volumes"] and mount in spec["containers"][0]["volumeMounts"]
    assert spec["containers"][0]["env"] == [{"name": "KUBECAMP_WEBHOOK_USERNAME", "value": "alertmanager"}]


def test_without_the_preflight_there_is_no_test_pod() -> None:
    assert "Pod" not in kinds(render(NO_PREFLIGHT))


# --- the scenario catalogue: a Secret of the chart's scenarios/, mounted; no solution, no answer key ------


def catalogue_volume(objects: list[dict[str, Any]]) -> dict[str, Any]:
    """The source of the bot's `scenarios` volume."""
    (volume,) = [v for v in pod_spec(objects)["volumes"] if v["name"] == "scenarios"]
    return {k: v for k, v in volume.items() if k != "name"}


def catalogue_secret(objects: list[dict[str, Any]]) -> dict[str, bytes]:
    secret = one(objects, "Secret", SCENARIOS_SECRET)
    assert secret["type"] == "Opaque"
    return {key: base64.b64decode(value) for key, value in secret["data"].items()}


def mounted_catalogue(objects: list[dict[str, Any]], root: Path) -> dict[str, bytes]:
    """The catalogue as the kubelet lays the Secret volume out under root (each item's key at its path)."""
    data = catalogue_secret(objects)
    items = catalogue_volume(objects)["secret"]["items"]
    assert sorted(item["key"] for item in items) == sorted(data), "every key mounted, once"
    files = {}
    for item in items:
        target = root / item["path"]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data[item["key"]])
        files[item["path"]] = data[item["key"]]
    return files


def files_the_bot_loads(root: Path = REPO / "scenarios") -> dict[str, bytes]:
    """From a catalogue folder, what the bot reads: each challenge.yaml and the .yaml/.yml files of the
    manifests and previous folders its scenarios name."""
    paths = []
    for challenge in load_catalog(root):
        paths.append(challenge.folder / "challenge.yaml")
        for scenario in challenge.scenarios:
            for folder in filter(None, (scenario.spec.manifests, scenario.spec.previous)):
                paths += [p for p in (challenge.folder / folder).iterdir() if p.suffix in (".yaml", ".yml")]
    # a variant's scenarios are read from the folders of the challenge it takes them from (scenarios_of)
    return {p.resolve().relative_to(root.resolve()).as_posix(): p.read_bytes() for p in paths}


def answers(root: Path = REPO / "scenarios") -> dict[str, bytes]:
    """Each solution file that differs from the broken state's file of its name (a file the fix leaves as it
    is, like challenge 5's Elasticsearch stand-in, answers nothing), and every file of a build's reference."""
    solutions = {
        path.relative_to(root).as_posix(): text
        for path in root.glob("*/*/solution/*")
        for text in [path.read_bytes()]
        if not (path.parent.parent / "manifests" / path.name).is_file()
        or (path.parent.parent / "manifests" / path.name).read_bytes() != text
    }
    references = {
        path.relative_to(root).as_posix(): path.read_bytes() for path in root.glob("*/reference/**/*") if path.is_file()
    }
    return {**solutions, **references}


def chart_copy(tmp_path: Path) -> Path:
    """The chart with its symlinks resolved, to change its catalogue."""
    copy = tmp_path / "kubecamp-bot"
    shutil.copytree(CHART_DIR, copy)
    return copy


def test_the_catalogue_secret_holds_exactly_what_the_bot_loads(tmp_path: Path) -> None:
    objects = render(INSTRUCTOR)
    mounted = mounted_catalogue(objects, tmp_path / "scenarios")
    assert mounted == files_the_bot_loads()
    # The bot loads it as it loads the repository's catalogue, solutions apart.
    deployed, shipped = load_catalog(tmp_path / "scenarios"), load_catalog(REPO / "scenarios", solutions=True)
    assert [c.id for c in deployed] == [c.id for c in shipped] == [1, 2, 3, 4, 5, 21, 51, 52, 53, 91]
    for here, there in zip(deployed, shipped, strict=True):
        assert here.spec == there.spec  # texts, checks and hints
        for scenario, original in zip(here.scenarios, there.scenarios, strict=True):
            assert [m.body for m in scenario.manifests] == [m.body for m in original.manifests]
            assert [m.body for m in scenario.previous] == [m.body for m in original.previous]
            assert scenario.solution is None and original.solution
        assert here.reference is None and (there.reference is not None) == (there.spec.reference is not None)
    secret = one(objects, "Secret", SCENARIOS_SECRET)
    assert sum(len(v) for v in catalogue_secret(objects).values()) < 1024 * 1024
    assert secret["metadata"]["labels"]["app.kubernetes.io/instance"] == RELEASE


def test_no_solution_and_no_answer_key_reaches_the_chart_its_package_or_the_secret(tmp_path: Path) -> None:
    solutions = answers()
    answer_key = (REPO / "scenarios" / "README.md").read_bytes()
    assert len(solutions) >= 12 and answer_key

    def shipped_nothing_secret(names: set[str]) -> None:
        scenario_files = {n for n in names if n.startswith("scenarios/")}
        assert scenario_files, "the chart holds the catalogue"
        assert not [n for n in scenario_files if {"solution", "reference"} & set(n.split("/")) or n.endswith(".md")]

    shipped_nothing_secret({f["name"] for f in _chart().files})
    values = catalogue_secret(render(INSTRUCTOR)).values()
    assert not [path for path, text in solutions.items() if text in values]
    assert answer_key not in values
    # A packaged chart (what is published, and what Helm keeps in the release Secret) carries the files.
    archive = helm_python.package(CHART_DIR, destination=tmp_path)
    with helm_python.Chart.load(archive) as packaged:
        shipped_nothing_secret({f["name"] for f in packaged.files})
        assert catalogue_secret(render(INSTRUCTOR, chart=packaged)) == catalogue_secret(render(INSTRUCTOR))


def test_the_catalogue_reaches_the_chart_through_a_symlink() -> None:
    link = CHART_DIR / "scenarios"
    assert link.is_symlink()
    assert link.resolve() == (REPO / "scenarios").resolve()


def test_the_bot_and_the_test_pod_mount_the_catalogue_read_only() -> None:
    objects = render(INSTRUCTOR)
    assert {"name": "scenarios", "mountPath": SCENARIOS_DIR, "readOnly": True} in container(objects)["volumeMounts"]
    assert one(objects, "ConfigMap", FULLNAME)["data"]["KUBECAMP_SCENARIOS_DIR"] == SCENARIOS_DIR
    (c,) = preflight_pod(objects)["spec"]["containers"]
    assert {"name": "scenarios", "mountPath": SCENARIOS_DIR, "readOnly": True} in c["volumeMounts"]
    assert "--broken-only" in c["args"], "the deployed catalogue has no solutions to apply"
    # No Pod reads the Secret through the API: the kubelet mounts it. The bot's role grants no Secrets.
    assert not [r for o in objects if o["kind"] == "ClusterRole" for r in o["rules"] if "secrets" in r["resources"]]


def test_a_catalogue_volume_of_your_own_replaces_the_secret() -> None:
    source = {"persistentVolumeClaim": {"claimName": "course-2026", "readOnly": True}}
    objects = render(merged(INSTRUCTOR, {"scenarios": {"volume": source}}))
    assert [o["metadata"]["name"] for o in objects if o["kind"] == "Secret"] == [FULLNAME]
    assert catalogue_volume(objects) == source
    assert {"name": "scenarios", **source} in preflight_pod(objects)["spec"]["volumes"]
    assert "checksum/scenarios" not in one(objects, "Deployment")["spec"]["template"]["metadata"]["annotations"]


def test_a_changed_catalogue_restarts_the_bot(tmp_path: Path) -> None:
    copy = chart_copy(tmp_path)
    challenge = copy / "scenarios" / "challenge-2" / "challenge.yaml"
    challenge.write_text(challenge.read_text(encoding="utf-8").replace("20m", "25m", 1), encoding="utf-8")
    with helm_python.Chart.load(copy) as changed:
        before, after = (
            checksums(INSTRUCTOR),
            {
                k: v
                for k, v in one(render(INSTRUCTOR, chart=changed), "Deployment")["spec"]["template"]["metadata"][
                    "annotations"
                ].items()
                if k.startswith("checksum/")
            },
        )
    assert before["checksum/config"] == after["checksum/config"]
    assert before["checksum/scenarios"] != after["checksum/scenarios"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("too-big", "bytes; a Secret holds at most 1 MiB (1048576)"),
        ("empty", "the chart holds no scenarios/*/challenge.yaml"),
        ("not-yaml", "scenarios/challenge-2/challenge.yaml is not valid YAML"),
        ("bad-key", "scenarios/challenge-2/image-pull/manifests/front end.yaml: a Secret key can hold only"),
    ],
)
def test_a_catalogue_the_secret_cannot_hold_fails_the_render_saying_why(
    tmp_path: Path, change: str, message: str
) -> None:
    copy = chart_copy(tmp_path)
    scenarios = copy / "scenarios"
    manifests = scenarios / "challenge-2" / "image-pull" / "manifests"
    if change == "too-big":
        (manifests / "padding.yaml").write_text("# padding\n" * 110_000, encoding="utf-8")
    elif change == "empty":
        shutil.rmtree(scenarios)
        scenarios.mkdir()
    elif change == "not-yaml":
        (scenarios / "challenge-2" / "challenge.yaml").write_text("id: [2\n", encoding="utf-8")
    else:
        (manifests / "front end.yaml").write_text("# a name no Secret key takes\n", encoding="utf-8")
    with helm_python.Chart.load(copy) as broken, pytest.raises(helm_python.HelmRenderError) as caught:
        render(INSTRUCTOR, chart=broken)
    assert message in str(caught.value)
    if change == "too-big":
        assert "mount it with scenarios.volume instead" in str(caught.value)


# --- values and schema ---------------------------------------------------------------------------

BAD_VALUES = [
    ({"persistence": {"size": 12}}, "/persistence/size"),
    ({"persistence": {"size": "lots"}}, "/persistence/size"),
    ({"persistence": {"retentionDays": -1}}, "/persistence/retentionDays"),
    ({"persistance": {"enabled": False}}, "'persistance' not allowed"),
    ({"discord": {"tokn": "x"}}, "'tokn' not allowed"),
    ({"discord": {"guildIds": [123456789012345678]}}, "/discord/guildIds/0"),
    ({"discord": {"instructorRole": "instructor"}}, "/discord/instructorRole"),
    ({"discord": {"instructorRole": 523456789012345678}}, "/discord/instructorRole"),
    ({"log": {"level": "info"}}, "/log/level"),
    ({"log": {"format": "text"}}, "/log/format"),
    ({"catalog": {"language": "de"}}, "/catalog/language"),
    ({"kube": {"namespacePrefix": "Kubecamp_"}}, "/kube/namespacePrefix"),
    ({"service": {"port": 0}}, "/service/port"),
    ({"serviceMonitor": {"interval": "30 seconds"}}, "/serviceMonitor/interval"),
    ({"alertmanagerConfig": {"matchers": [{"name": "namespace", "matchType": "=="}]}}, "matchType"),
    ({"networkPolicy": {"webhookFrom": [{"namespaceSelectr": {}}]}}, "'namespaceSelectr' not allowed"),
    ({"networkPolicy": {"ingressFrom": []}}, "'ingressFrom' not allowed"),
    ({"preflight": {"challenges": ["2"]}}, "/preflight/challenges/0"),
    ({"preflight": {"challenges": [2, 2]}}, "/preflight/challenges"),
    ({"preflight": {"timeoutSeconds": 0}}, "/preflight/timeoutSeconds"),
    ({"preflight": {"settleSeconds": -1}}, "/preflight/settleSeconds"),
    ({"preflight": {"enable": True}}, "'enable' not allowed"),
    ({"scenarios": {"volume": {"name": "x", "secret": {"secretName": "s"}}}}, "/scenarios/volume"),
    ({"scenarios": {"volume": {"secret": {}, "configMap": {}}}}, "/scenarios/volume"),
    ({"scenarios": {"secretName": "s"}}, "'secretName' not allowed"),
    ({"catalog": {"scenariosDir": "/x"}}, "'scenariosDir' not allowed"),
]


@pytest.mark.parametrize(("bad", "named"), BAD_VALUES, ids=[b[1] for b in BAD_VALUES])
def test_schema_rejects_bad_values_naming_the_key(bad: dict[str, Any], named: str) -> None:
    values = merged(INSTRUCTOR, bad)
    with pytest.raises(helm_python.HelmValuesError) as by_validation:
        _chart().validate_schema(values)
    assert named in str(by_validation.value)
    with pytest.raises(helm_python.HelmValuesError) as by_render:
        render(values)
    assert named in str(by_render.value)


def _schema_paths(schema: dict[str, Any], values: Any, path: str = "") -> Iterator[str]:
    """Mismatches between the default values and the schema's owned objects (closed ones)."""
    if not isinstance(values, dict) or schema.get("additionalProperties") is not False:
        return
    properties = schema.get("properties", {})
    for key in set(properties) - set(values) - {"global"}:
        yield f"{path}.{key}: in the schema, not in values.yaml"
    for key in set(values) - set(properties):
        yield f"{path}.{key}: in values.yaml, not in the schema"
    for key in set(values) & set(properties):
        node = properties[key]
        assert "type" in node, f"{path}.{key} has no type in the schema"
        assert node.get("description") or node["type"] == "object" or path, f"{path}.{key} has no description"
        yield from _schema_paths(node, values[key], f"{path}.{key}")


def test_schema_covers_every_value() -> None:
    schema = json.loads((CHART_DIR / "values.schema.json").read_text(encoding="utf-8"))
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert list(_schema_paths(schema, _chart().values)) == []


def test_every_value_is_documented() -> None:
    """helm-docs style: a `# --` comment above every value (or above the object that holds it)."""
    lines = (CHART_DIR / "values.yaml").read_text(encoding="utf-8").splitlines()
    undocumented = []
    stack: list[tuple[int, bool]] = []  # (indent, documented) of the open sections
    for number, line in enumerate(lines):
        match = re.match(r"^( *)([\w.-]+):(.*)$", line)
        if not match:
            continue
        indent, key, rest = len(match.group(1)), match.group(2), match.group(3).strip()
        while stack and stack[-1][0] >= indent:
            stack.pop()
        comment = []
        for previous in reversed(lines[:number]):
            if previous.strip().startswith("#"):
                comment.append(previous.strip())
            else:
                break
        documented = any(c.startswith("# --") for c in comment) or any(doc for _, doc in stack)
        following = next((n for n in lines[number + 1 :] if n.strip() and not n.strip().startswith("#")), "")
        following_indent = len(following) - len(following.lstrip())
        is_section = not rest and following_indent > indent and not following.strip().startswith("- ")
        if is_section:
            stack.append((indent, documented))
        elif not documented:
            undocumented.append(f"line {number + 1}: {key}")
    assert undocumented == []


def test_lint_is_clean() -> None:
    for values in (INSTRUCTOR, ALL_ON):
        report = helm_python.lint(CHART_DIR, values, strict=True, namespace=NAMESPACE)
        assert report["errors"] == []
        assert [m for m in report["messages"] if m["severity"] >= 2] == []


# --- names ---------------------------------------------------------------------------------------


def test_names() -> None:
    assert one(render(REQUIRED, name="kubecamp-bot"), "Deployment")["metadata"]["name"] == "kubecamp-bot"
    assert one(render(merged(REQUIRED, {"fullnameOverride": "bot"})), "Deployment")["metadata"]["name"] == "bot"
    named = one(render(merged(REQUIRED, {"nameOverride": "trainer"})), "Deployment")
    assert named["metadata"]["name"] == "kubecamp-trainer"
    assert named["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] == "trainer"
    long_release = "a" * 40 + "-" + "b" * 12  # 53 characters, the most Helm allows
    for obj in render(REQUIRED, name=long_release):
        cluster_scoped = (
            "ClusterRole",
            "ClusterRoleBinding",
            "ValidatingAdmissionPolicy",
            "ValidatingAdmissionPolicyBinding",
        )
        if obj["kind"] not in cluster_scoped:
            name = obj["metadata"]["name"]
            assert len(name) <= 63 and not name.endswith("-"), name


# --- prometheus-operator objects ------------------------------------------------------------------


def alert_rule_groups(prefix: str = "kubecamp-") -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = []
    for path in sorted((REPO / "alert_rules").glob("*.yaml")):
        text = path.read_text(encoding="utf-8").replace('namespace=~"kubecamp-.*"', f'namespace=~"{prefix}.*"')
        groups += yaml.safe_load(text)["groups"]
    return groups


def test_prometheus_rule_is_alert_rules() -> None:
    rule = one(render(ALL_ON), "PrometheusRule")
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert rule["spec"]["groups"] == alert_rule_groups()


def test_prometheus_rule_follows_the_namespace_prefix() -> None:
    values = merged(ALL_ON, {"kube": {"namespacePrefix": "myschool-"}})
    groups = one(render(values), "PrometheusRule")["spec"]["groups"]
    assert groups == alert_rule_groups("myschool-")
    assert groups != alert_rule_groups()
    assert "kubecamp-.*" not in json.dumps(groups)


def test_alert_rules_reach_the_chart_through_a_symlink(tmp_path: Path) -> None:
    link = CHART_DIR / "alert_rules"
    assert link.is_symlink()
    assert link.resolve() == (REPO / "alert_rules").resolve()
    files = {f["name"] for f in _chart().files}
    expected = {f"alert_rules/{p.name}" for p in (REPO / "alert_rules").glob("*.yaml")}
    assert expected <= files
    assert not any(name.startswith("alert_rules/tests/") or name.endswith(".md") for name in files)
    # A packaged chart carries the files themselves.
    archive = helm_python.package(CHART_DIR, destination=tmp_path)
    with helm_python.Chart.load(archive) as packaged:
        assert expected <= {f["name"] for f in packaged.files}
        assert one(render(ALL_ON, chart=packaged), "PrometheusRule")["spec"]["groups"] == alert_rule_groups()


def test_service_monitor() -> None:
    objects = render(ALL_ON)
    monitor = one(objects, "ServiceMonitor")
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert monitor["metadata"]["namespace"] == NAMESPACE
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": [NAMESPACE]}
    assert monitor["spec"]["endpoints"] == [
        {"port": "probes", "path": "/metrics", "scheme": "http", "interval": "30s", "scrapeTimeout": "10s"}
    ]
    service = one(objects, "Service")
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    [scraped] = [p for p in service["spec"]["ports"] if p["name"] == "probes"]
    assert {"name": "probes", "containerPort": scraped["port"], "protocol": "TCP"} in container(objects)["ports"]


def test_alertmanager_config() -> None:
    config_object = one(render(ALL_ON), "AlertmanagerConfig")
    assert config_object["metadata"]["namespace"] == NAMESPACE
    assert config_object["metadata"]["labels"]["alertmanagerConfig"] == "kubecamp"
    route = config_object["spec"]["route"]
    assert route == {
        "receiver": "kubecamp-bot",
        "groupBy": ["alertname", "namespace"],
        "groupWait": "30s",
        "groupInterval": "1m",
        "repeatInterval": "4h",
        "matchers": [{"name": "namespace", "value": "kubecamp-.*", "matchType": "=~"}],
    }
    webhook = config_object["spec"]["receivers"][0]["webhookConfigs"][0]
    assert webhook["url"] == f"http://{FULLNAME}.{NAMESPACE}.svc:8080/webhooks/alertmanager"
    assert webhook["sendResolved"] is True
    assert webhook["httpConfig"]["authorization"] == {
        "type": "Bearer",
        "credentials": {"name": FULLNAME, "key": "webhook-token"},
    }


def test_alertmanager_config_needs_the_webhook_token() -> None:
    with pytest.raises(helm_python.HelmRenderError, match=r"webhook\.token"):
        render(merged(REQUIRED, {"alertmanagerConfig": {"enabled": True}}))


def test_network_policy_is_on_by_default_and_admits_each_port_only_its_client() -> None:
    objects = render(REQUIRED)
    policy = one(objects, "NetworkPolicy")["spec"]
    pod_labels = one(objects, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert policy["podSelector"]["matchLabels"].items() <= pod_labels.items()
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    monitoring = {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}
    alertmanager = {
        "namespaceSelector": monitoring,
        "podSelector": {"matchLabels": {"app.kubernetes.io/name": "alertmanager"}},
    }
    prometheus = {
        "namespaceSelector": monitoring,
        "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}},
    }
    assert policy["ingress"] == [
        {"from": [alertmanager], "ports": [{"port": "http", "protocol": "TCP"}]},
        {"from": [prometheus], "ports": [{"port": "probes", "protocol": "TCP"}]},
        {
            "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}],
            "ports": [{"port": "scoreboard", "protocol": "TCP"}],
        },
    ]
    # The ports named are the container's: the webhook on http, the probes and /metrics on probes, the page on
    # scoreboard.
    assert {p["name"] for p in container(objects)["ports"]} == {"http", "probes", "scoreboard"}
    dns, https, alertmanager_api = policy["egress"]
    assert dns == {"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}
    assert https == {
        "to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}],
        "ports": [{"port": 443, "protocol": "TCP"}, {"port": 6443, "protocol": "TCP"}],
    }
    assert alertmanager_api == {"ports": [{"port": 9093, "protocol": "TCP"}], "to": [{"namespaceSelector": monitoring}]}
    assert "NetworkPolicy" in notes(REQUIRED) and "WARNING: networkPolicy.enabled is false" not in notes(REQUIRED)


def test_network_policy_peers_from_values() -> None:
    nodes = {"ipBlock": {"cidr": "10.0.0.0/16"}}
    values = merged(REQUIRED, {"networkPolicy": {"webhookFrom": [], "probesFrom": [nodes], "scoreboardFrom": []}})
    policy = one(render(values), "NetworkPolicy")["spec"]
    assert policy["ingress"] == [{"from": [nodes], "ports": [{"port": "probes", "protocol": "TCP"}]}]
    # No peers at all: nothing may connect.
    closed = merged(REQUIRED, {"networkPolicy": {"webhookFrom": [], "probesFrom": [], "scoreboardFrom": []}})
    assert one(render(closed), "NetworkPolicy")["spec"]["ingress"] == []
    off = merged(INSTRUCTOR, {"networkPolicy": {"enabled": False}})
    assert "NetworkPolicy" not in kinds(render(off))
    assert "WARNING: networkPolicy.enabled is false: any pod in the cluster can reach the bot's ports." in notes(off)


def test_the_probe_port_is_its_own() -> None:
    values = merged(REQUIRED, {"web": {"probePort": 9100}, "service": {"probePort": 9101}})
    objects = render(values)
    assert {"name": "probes", "containerPort": 9100, "protocol": "TCP"} in container(objects)["ports"]
    assert one(objects, "ConfigMap", FULLNAME)["data"]["KUBECAMP_WEB_PROBE_PORT"] == "9100"
    assert {"name": "probes", "port": 9101, "targetPort": "probes", "protocol": "TCP"} in one(objects, "Service")[
        "spec"
    ]["ports"]
    assert "port-forward svc/kubecamp-kubecamp-bot 9101" in notes(values)
    with pytest.raises(helm_python.HelmRenderError, match=r"web\.probePort must differ from web\.port"):
        render(merged(REQUIRED, {"web": {"probePort": 8080}}))
    with pytest.raises(helm_python.HelmRenderError, match=r"service\.probePort must differ from service\.port"):
        render(merged(REQUIRED, {"service": {"probePort": 8080}}))
    with pytest.raises(helm_python.HelmValuesError, match="/web/probePort"):
        render(merged(REQUIRED, {"web": {"probePort": 0}}))


# --- the Grafana dashboard ------------------------------------------------------------------------


def test_dashboard_configmap_holds_the_dashboard() -> None:
    configmap = one(render(ALL_ON), "ConfigMap", f"{FULLNAME}-dashboard")
    assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert configmap["metadata"]["namespace"] == "monitoring"
    assert configmap["metadata"]["annotations"] == {"grafana_folder": "Kubecamp"}
    assert json.loads(configmap["data"]["kubecamp-bot.json"]) == json.loads(DASHBOARD.read_text(encoding="utf-8"))
    relabelled = merged(ALL_ON, {"grafanaDashboard": {"labelKey": "dashboards", "labelValue": "kubecamp"}})
    labels = one(render(relabelled), "ConfigMap", f"{FULLNAME}-dashboard")["metadata"]["labels"]
    assert labels["dashboards"] == "kubecamp"
    assert "grafana_dashboard" not in labels


def test_dashboard() -> None:
    board = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert board["uid"] == "kubecamp-bot"
    assert 36 <= board["schemaVersion"] <= 41
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    panels = [p for p in board["panels"] if p["type"] != "row"]
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    for panel in panels:
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            expr = target["expr"]
            # Rates over $__rate_interval (or $__range for totals), never a fixed window.
            for window in re.findall(r"\[([^\]]+)\]", expr):
                assert window in ("$__rate_interval", "$__range"), (panel["title"], expr)


def test_dashboard_uses_only_exported_metrics() -> None:
    # tests/test_app.py checks the same against a running bot's /metrics.
    families, series = exported()
    names = dashboard_metric_names()
    assert names <= series, names - series
    # Every metric the bot exports has a panel (histograms by their _bucket or _count).
    shown = {re.sub(r"_(total|bucket|sum|count)$", "", n) for n in names if n.startswith("kubecamp_")}
    assert shown == families
    assert {"process_resident_memory_bytes", "process_cpu_seconds_total"} <= names


def test_metric_name_extraction() -> None:
    assert promql_metric_names(
        'histogram_quantile(0.99, sum by (le) (rate(kubecamp_webhook_request_duration_seconds_bucket{job=~"$job"}'
        "[$__rate_interval])))"
    ) == {"kubecamp_webhook_request_duration_seconds_bucket"}
    assert promql_metric_names("time() - max(process_start_time_seconds)") == {"process_start_time_seconds"}
    assert promql_metric_names("a_total / on (job) group_left b offset 5m") == {"a_total", "b"}


# --- notes ---------------------------------------------------------------------------------------


def test_notes() -> None:
    text = notes(ALL_ON)
    assert (
        "https://discord.com/oauth2/authorize?client_id=423456789012345678"
        "&scope=bot+applications.commands&permissions=309237763072"
    ) in text
    assert f"http://{FULLNAME}.{NAMESPACE}.svc:8080/webhooks/alertmanager" in text
    assert f"kubectl -n {NAMESPACE} port-forward svc/{FULLNAME} 8081" in text
    assert f"Prometheus scrapes http://{FULLNAME}.{NAMESPACE}.svc:8081/metrics" in text
    assert "/readyz" in text
    assert f"kubectl -n {NAMESPACE} rollout status deployment/{FULLNAME}" in text
    assert "WARNING" not in text
    assert "alertmanagerConfigMatcherStrategy" in text
    assert f"helm test {RELEASE} -n {NAMESPACE} --logs --timeout 30m" in text
    assert "scratch namespace kubecamp-preflight-<random>" in text
    assert "KUBECAMP_KUBE_NAMESPACE_PREFIX=kubecamp- kubecamp preflight" in text, "healing is proven from a checkout"
    assert f"mounted at {SCENARIOS_DIR} from the Secret {SCENARIOS_SECRET}, made" in text
    own = notes(merged(INSTRUCTOR, {"scenarios": {"volume": {"persistentVolumeClaim": {"claimName": "c"}}}}))
    assert f"mounted at {SCENARIOS_DIR} from your scenarios.volume." in own and SCENARIOS_SECRET not in own
    assert "helm test" not in notes(NO_PREFLIGHT)
    assert "admissionPolicy.enabled=false" in text and "Kubernetes 1.30 or later" in text
    assert "rbac.prometheuses=true" in text, "the monitoring scenario cannot start by default"
    assert "rbac.prometheuses" not in notes(merged(INSTRUCTOR, {"rbac": {"prometheuses": True}}))
    older = notes(merged(INSTRUCTOR, {"admissionPolicy": {"enabled": False}}))
    assert "WARNING: admissionPolicy.enabled is false" in older
    plain = notes(REQUIRED)
    assert "client_id=<APPLICATION_ID>" in plain
    assert "discord.guildIds is empty" in plain


def test_notes_end_with_the_next_steps() -> None:
    """Create the teams, hand out their kubeconfigs, rehearse: with this release's names, in that order, last."""
    text = notes(ALL_ON)
    steps = text[text.index("Next steps") :]
    exec_in_bot = f"kubectl -n {NAMESPACE} exec deploy/{FULLNAME} -- kubecamp"
    assert "kubecamp-<team>" in steps
    creating = steps.index("/team create blue @team-blue #team-blue")
    assert steps.index(f"{exec_in_bot} team add blue") > creating
    handing_out = steps.index(f"{exec_in_bot} team kubeconfig --team blue > kubeconfig-blue.yaml")
    assert "/team kubeconfig" in steps
    rehearsing = steps.index("3. Rehearse: the preflight of 4. above")
    assert creating < handing_out < rehearsing
    assert "/challenge start 2 blue" in steps[rehearsing:] and "/challenge stop blue" in steps[rehearsing:]
    assert steps.rstrip().endswith("docs/deploy.md#monday-on-kind-end-to-end")
    assert "\n## Monday on kind, end to end\n" in (REPO / "docs" / "deploy.md").read_text()
    camp = notes(merged(NO_PREFLIGHT, {"kube": {"namespacePrefix": "camp-"}}))
    assert "3. Rehearse: kubecamp preflight from your checkout" in camp and "camp-<team>" in camp
