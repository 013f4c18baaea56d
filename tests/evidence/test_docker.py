"""Docker Swarm's tables, as the lab's three phases print them, judged against the lab's checkpoints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.evidence import evaluate
from bot.i18n import render

SAMPLES = Path(__file__).parent / "samples"


def sample(name: str) -> str:
    return (SAMPLES / name).read_text(encoding="utf-8")


def unmet_keys(parser: str, params: dict[str, Any], text: str) -> list[str]:
    verdict = evaluate(parser, params, text)
    assert verdict.passed == (not verdict.unmet)
    return [m.key for m in verdict.unmet]


@pytest.mark.parametrize(
    ("file", "params", "unmet"),
    [
        # Phase 2, step 1: the swarm is up, with a Ready leader
        ("docker-node-ls-single.txt", {"leader": True}, []),
        ("docker-node-ls.txt", {"ready": 3, "managers": 1, "leader": True}, []),
        ("docker-node-ls-single.txt", {"ready": 3, "leader": True}, ["evidence.at_least"]),
        ("docker-node-ls-managers.txt", {"managers": 3, "leader": True}, []),
        ("docker-node-ls-managers.txt", {"ready": 4}, ["evidence.at_least"]),  # manager1 is Down
        ("docker-node-ls.txt", {"managers": 2}, ["evidence.at_least"]),
    ],
)
def test_docker_node_ls(file: str, params: dict[str, Any], unmet: list[str]) -> None:
    assert unmet_keys("docker-node-ls", params, sample(file)) == unmet


def test_docker_node_ls_says_what_it_read() -> None:
    verdict = evaluate("docker-node-ls", {"ready": 3, "leader": True}, sample("docker-node-ls-managers.txt"))
    assert render(verdict.message, "en") == "nodes: 4, Ready: 3, managers: 3, Leader: manager2"
    assert render(verdict.message, "ko") == "노드 4개: Ready 3개, 매니저 3개, 리더(Leader) 노드: manager2"


def test_a_leader_that_is_not_ready_is_named() -> None:
    down = sample("docker-node-ls.txt").replace("manager1   Ready", "manager1   Down ")
    verdict = evaluate("docker-node-ls", {"leader": True}, down)
    assert [render(m, "en") for m in verdict.unmet] == [
        "the Leader manager1 is Not Ready (Down)".replace("Not ", "not ")
    ]


def test_without_a_leader_the_swarm_has_none() -> None:
    workers_only = sample("docker-node-ls.txt").replace("Leader", "      ")
    verdict = evaluate("docker-node-ls", {"leader": True}, workers_only)
    assert not verdict.passed
    assert render(verdict.message, "en").endswith("Leader: none")
    assert [m.key for m in verdict.unmet] == ["evidence.docker_node_ls.no_leader"]


def test_the_current_node_marker_is_read() -> None:
    from bot.evidence.docker import DockerNodeLs
    from bot.evidence.table import clean, read_table

    table = read_table(clean(sample("docker-node-ls.txt")), known=DockerNodeLs.columns, required={"ID"})
    assert table is not None
    nodes = [DockerNodeLs().row(cells) for cells in table.rows]
    assert [(n.hostname, n.current, n.manager_status) for n in nodes if n] == [
        ("manager1", True, "Leader"),
        ("worker1", False, ""),
        ("worker2", False, ""),
    ]


@pytest.mark.parametrize(
    ("file", "params", "unmet"),
    [
        ("docker-service-ls.txt", {"service": "web-service", "replicas": "3/3"}, []),
        (
            "docker-service-ls.txt",
            {"service": "web-service", "published_port": 8080, "image": "improved-app:latest"},
            [],
        ),
        ("docker-service-ls.txt", {"service": "health-service", "replicas": "5/5", "published_port": 8081}, []),
        ("docker-service-ls.txt", {"service": "web-service", "published_port": 8081}, ["evidence.port_not_published"]),
        # Phase 2, step 4: scaled to 6, four of them running so far
        ("docker-service-ls-scaling.txt", {"service": "web-service", "replicas": "6/6"}, ["evidence.replicas_differ"]),
        ("docker-service-ls-scaling.txt", {"service": "web-service", "replicas": "4/6"}, []),
        ("docker-service-ls-scaling.txt", {"service": "monitor", "replicas": "1/1"}, []),
        ("docker-service-ls-scaling.txt", {"service": "backup", "replicas": "0/1"}, []),  # "(2/5 completed)" after it
        ("docker-service-ls.txt", {"service": "web-service", "image": "improved-app:v2"}, ["evidence.image_differs"]),
        ("docker-service-ls.txt", {"service": "web", "replicas": "3/3"}, ["evidence.service_missing"]),
    ],
)
def test_docker_service_ls(file: str, params: dict[str, Any], unmet: list[str]) -> None:
    assert unmet_keys("docker-service-ls", params, sample(file)) == unmet


def test_a_missing_service_lists_those_the_table_has() -> None:
    verdict = evaluate("docker-service-ls", {"service": "web", "replicas": "3/3"}, sample("docker-service-ls.txt"))
    assert render(verdict.unmet[0], "en") == "service web is not in the table (it lists health-service, web-service)"
    assert (
        render(verdict.unmet[0], "ko") == "표에 없는 서비스입니다: web (표에 있는 서비스: health-service, web-service)"
    )


def test_replicas_that_differ_say_both() -> None:
    params = {"service": "web-service", "replicas": "6/6"}
    verdict = evaluate("docker-service-ls", params, sample("docker-service-ls-scaling.txt"))
    assert render(verdict.message, "en") == "service web-service: replicas 4/6, image improved-app:latest"
    assert [render(m, "ko") for m in verdict.unmet] == ["복제본 수가 다릅니다: 4/6 (기대: 6/6)"]


@pytest.mark.parametrize(
    ("file", "params", "unmet"),
    [
        ("docker-service-ps-fresh.txt", {"service": "web-service", "running": 3}, []),
        # Phase 2, step 3: a container killed, Swarm replaced its task
        ("docker-service-ps-recovered.txt", {"service": "web-service", "running": 3, "replaced_failure": True}, []),
        (
            "docker-service-ps-fresh.txt",
            {"service": "web-service", "replaced_failure": True},
            ["evidence.docker_service_ps.no_failure"],
        ),
        (
            "docker-service-ps-killed.txt",
            {"service": "web-service", "running": 3, "replaced_failure": True},
            ["evidence.at_least", "evidence.docker_service_ps.failure_not_replaced"],
        ),
        # Phase 3, step 2: the rolling update, part-way and done
        (
            "docker-service-ps-rolling.txt",
            {"service": "web-service", "image": "improved-app:v2", "rolled_from": "improved-app:latest"},
            ["evidence.tasks_not_on_image"],
        ),
        (
            "docker-service-ps-rolling.txt",
            {"service": "web-service", "rolled_from": "improved-app:v1"},
            ["evidence.not_rolled_from"],
        ),
        (
            "docker-service-ps-fresh.txt",
            {"service": "web-service", "rolled_from": "improved-app:latest"},
            ["evidence.not_rolled_from"],
        ),
        # Phase 3, step 3: the seed's own --format, without ID, IMAGE, NODE or DESIRED STATE
        (
            "docker-service-ps-health-format.txt",
            {"service": "health-service", "running": 5, "replaced_failure": True},
            [],
        ),
        (
            "docker-service-ps-no-trunc.txt",
            {"service": "web-service", "replaced_failure": True, "image": "improved-app:latest"},
            [],
        ),
        ("docker-service-ps-fresh.txt", {"service": "health-service", "running": 1}, ["evidence.service_missing"]),
    ],
)
def test_docker_service_ps(file: str, params: dict[str, Any], unmet: list[str]) -> None:
    assert unmet_keys("docker-service-ps", params, sample(file)) == unmet


def test_a_finished_rolling_update_passes() -> None:
    done = sample("docker-service-ps-rolling.txt").replace(
        "web-service.3       improved-app:latest", "web-service.3       improved-app:v2    "
    )
    params = {"service": "web-service", "running": 3, "image": "improved-app:v2", "rolled_from": "improved-app:latest"}
    assert unmet_keys("docker-service-ps", params, done) == []


def test_the_rolling_update_names_the_tasks_left_behind() -> None:
    params = {"service": "web-service", "image": "improved-app:v2"}
    verdict = evaluate("docker-service-ps", params, sample("docker-service-ps-rolling.txt"))
    assert render(verdict.message, "en") == "service web-service: tasks: 5, running: 3, previous: 2"
    assert [render(m, "en") for m in verdict.unmet] == [
        "not every running task runs improved-app:v2: web-service.3 improved-app:latest"
    ]


def test_a_failure_that_is_a_shutdown_is_no_replaced_failure() -> None:
    """A rolling update shuts tasks down; only Failed or Rejected ones are failures Swarm recovered from."""
    params = {"service": "web-service", "replaced_failure": True}
    assert unmet_keys("docker-service-ps", params, sample("docker-service-ps-rolling.txt")) == [
        "evidence.docker_service_ps.no_failure"
    ]


def test_tasks_of_a_service_with_a_similar_name_are_not_counted() -> None:
    other = sample("docker-service-ps-recovered.txt").replace("web-service.", "web-servic3.")
    assert unmet_keys("docker-service-ps", {"service": "web-service", "running": 1}, other) == [
        "evidence.service_missing"
    ]
