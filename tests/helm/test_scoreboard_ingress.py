"""The chart's part of the scoreboard page: its port, its tokens and the optional Ingress (off by default)."""

from __future__ import annotations

import base64

import pytest

from tests.helm.test_chart import FULLNAME, REQUIRED, _chart, container, kinds, merged, notes, one, render

INGRESS = merged(
    REQUIRED,
    {
        "ingress": {
            "enabled": True,
            "className": "nginx",
            "host": "scoreboard.kubecamp.example",
            "tls": [{"secretName": "scoreboard-tls", "hosts": ["scoreboard.kubecamp.example"]}],
        }
    },
)


def test_no_ingress_by_default_and_the_page_is_reached_by_port_forward() -> None:
    assert "Ingress" not in kinds(render(REQUIRED))
    assert "port-forward svc/kubecamp-kubecamp-bot 8082" in notes(REQUIRED)


def test_the_ingress_routes_the_scoreboard_alone() -> None:
    chart = _chart()
    chart.validate_schema(chart.merge_values(INGRESS))
    ingress = one(render(INGRESS), "Ingress")["spec"]
    assert ingress["ingressClassName"] == "nginx"
    assert ingress["tls"] == [{"secretName": "scoreboard-tls", "hosts": ["scoreboard.kubecamp.example"]}]
    (rule,) = ingress["rules"]
    assert rule["host"] == "scoreboard.kubecamp.example"
    # Never the webhook nor the probes: one path, to the Service's scoreboard port.
    assert rule["http"]["paths"] == [
        {
            "path": "/scoreboard",
            "pathType": "Prefix",
            "backend": {"service": {"name": FULLNAME, "port": {"name": "scoreboard"}}},
        }
    ]
    assert "https://scoreboard.kubecamp.example/scoreboard" in notes(INGRESS)
    anyhost = one(render(merged(REQUIRED, {"ingress": {"enabled": True}})), "Ingress")["spec"]
    assert "host" not in anyhost["rules"][0] and "ingressClassName" not in anyhost


@pytest.mark.parametrize(
    "values",
    [
        {"ingress": {"enabled": "yes"}},
        {"ingress": {"host": "Not A Host"}},
        {"ingress": {"tls": [{"hosts": ["x"]}]}},
        {"ingress": {"path": "/"}},
        {"web": {"scoreboardPort": 0}},
    ],
)
def test_the_schema_refuses_bad_values(values: dict[str, object]) -> None:
    chart = _chart()
    with pytest.raises(Exception, match=r"at '/(ingress|web)"):
        chart.validate_schema(chart.merge_values(merged(REQUIRED, values)))


def test_the_tokens_go_through_the_secret() -> None:
    values = merged(REQUIRED, {"scoreboard": {"token": "our-class", "instructorToken": "teachers"}})
    objects = render(values)
    secret = {k: base64.b64decode(v).decode() for k, v in one(objects, "Secret", FULLNAME)["data"].items()}
    assert (secret["scoreboard-token"], secret["scoreboard-instructor-token"]) == ("our-class", "teachers")
    env = {e["name"]: e for e in container(objects)["env"]}
    token = env["KUBECAMP_SCOREBOARD_TOKEN"]["valueFrom"]["secretKeyRef"]
    assert token == {"name": FULLNAME, "key": "scoreboard-token"}
    assert "KUBECAMP_SCOREBOARD_TOKEN" not in {e["name"] for e in container(render(REQUIRED))["env"]}
    existing = {e["name"]: e for e in container(render(merged(REQUIRED, {"existingSecret": "mine"})))["env"]}
    assert existing["KUBECAMP_SCOREBOARD_INSTRUCTOR_TOKEN"]["valueFrom"]["secretKeyRef"] == {
        "name": "mine",
        "key": "scoreboard-instructor-token",
        "optional": True,
    }
    data = one(objects, "ConfigMap", FULLNAME)["data"]
    assert data["KUBECAMP_WEB_SCOREBOARD_PORT"] == "8082"
    assert not {"KUBECAMP_SCOREBOARD_TOKEN", "KUBECAMP_SCOREBOARD_INSTRUCTOR_TOKEN"} & set(data)
