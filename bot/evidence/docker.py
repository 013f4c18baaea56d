"""Docker Swarm's tables: `docker node ls`, `docker service ls`, `docker service ps`.

The formats are docker/cli's (cli/command/node/formatter.go, cli/command/service/formatter.go and
cli/command/task/formatter.go, print.go), unchanged from Docker 17.06 to 28:

* `docker node ls`: ID (full, 25 characters) with ` *` after the node the command ran on, HOSTNAME,
  STATUS (Ready, Down, Unknown, Disconnected), AVAILABILITY (Active, Pause, Drain), MANAGER STATUS
  (Leader, Reachable, Unreachable; empty on a worker), ENGINE VERSION;
* `docker service ls`: ID (12 characters), NAME, MODE, REPLICAS (`3/3`, `1/1 (max 1 per node)`,
  `0/1 (2/5 completed)` for a job), IMAGE (without its digest), PORTS (`*:8080->3000/tcp`);
* `docker service ps`: ID (12 characters; 25 with `--no-trunc`), NAME (`service.slot`, or
  `service.nodeid` for a global service; a slot's previous tasks follow it, indented ` \\_ `), IMAGE,
  NODE, DESIRED STATE, CURRENT STATE (`Running 2 minutes ago`, `Failed 16 seconds ago`), ERROR (quoted,
  cut to 30 characters with `…` unless `--no-trunc`), PORTS. `--format "table {{.Name}}\\t…"` prints
  some of these columns, with the same headers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import Field, PositiveInt, StringConstraints

from bot.evidence.parser import Condition, Parser, at_least, echo, listing
from bot.i18n import Message

#: Swarm's object ids: lower-case letters and digits, 25 of them, or the first 12 in a table.
_SWARM_ID = re.compile(r"[0-9a-z]{12,25}")
#: A service name as Docker accepts it (and as the catalogue may name it).
ServiceName = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$")]
#: An image reference as `docker service` shows it: repository[:tag].
ImageName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._/:-]{0,254}$")]
Replicas = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,4}/[0-9]{1,4}$")]


def _image(cell: str) -> str:
    """The image as a condition names it: `--no-trunc` adds the digest, which a condition does not give."""
    return cell.partition("@")[0]


@dataclass(frozen=True)
class SwarmNode:
    id: str
    current: bool  # the `*`: the node the command ran on
    hostname: str
    status: str
    availability: str
    manager_status: str  # "" on a worker

    @property
    def manager(self) -> bool:
        return self.manager_status in ("Leader", "Reachable", "Unreachable")


class SwarmNodesCondition(Condition):
    ready: PositiveInt | None = Field(default=None, description="at least this many nodes are Ready")
    managers: PositiveInt | None = Field(default=None, description="at least this many nodes are managers")
    leader: Literal[True] | None = Field(default=None, description="a node is the Leader, and it is Ready")


class DockerNodeLs(Parser[SwarmNode, SwarmNodesCondition]):
    name = "docker-node-ls"
    command = "docker node ls"
    columns = frozenset({"ID", "HOSTNAME", "STATUS", "AVAILABILITY", "MANAGER STATUS", "ENGINE VERSION", "TLS STATUS"})
    condition = SwarmNodesCondition

    def needs(self, condition: SwarmNodesCondition) -> frozenset[str]:
        needed = {"ID", "HOSTNAME", "STATUS"}
        if condition.managers is not None or condition.leader:
            needed.add("MANAGER STATUS")
        return frozenset(needed)

    def row(self, cells: Mapping[str, str]) -> SwarmNode | None:
        node_id, _, marker = cells["ID"].partition(" ")
        if not _SWARM_ID.fullmatch(node_id) or marker.strip() not in ("", "*") or not cells["STATUS"]:
            return None
        return SwarmNode(
            id=node_id,
            current=marker.strip() == "*",
            hostname=cells["HOSTNAME"],
            status=cells["STATUS"],
            availability=cells.get("AVAILABILITY", ""),
            manager_status=cells.get("MANAGER STATUS", ""),
        )

    def judge(self, rows: Sequence[SwarmNode], condition: SwarmNodesCondition) -> tuple[Message, list[Message]]:
        ready = sum(node.status == "Ready" for node in rows)
        managers = sum(node.manager for node in rows)
        leader = next((node for node in rows if node.manager_status == "Leader"), None)
        found = Message(
            "evidence.docker_node_ls.found",
            {
                "nodes": len(rows),
                "ready": ready,
                "managers": managers,
                "leader": echo(leader.hostname) if leader else Message("evidence.nobody").to_json(),
            },
        )
        unmet = at_least("evidence.what.ready_nodes", ready, condition.ready)
        unmet += at_least("evidence.what.managers", managers, condition.managers)
        if condition.leader and leader is None:
            unmet.append(Message("evidence.docker_node_ls.no_leader"))
        elif condition.leader and leader is not None and leader.status != "Ready":
            unmet.append(
                Message(
                    "evidence.docker_node_ls.leader_not_ready",
                    {"host": echo(leader.hostname), "status": echo(leader.status)},
                )
            )
        return found, unmet


@dataclass(frozen=True)
class SwarmService:
    id: str
    name: str
    mode: str
    replicas: str  # running/desired, without the "(max 1 per node)" or "(… completed)" after it
    image: str
    ports: tuple[str, ...]

    def publishes(self, port: int) -> bool:
        return any(p.startswith(f"*:{port}->") for p in self.ports)


class SwarmServiceCondition(Condition):
    selectors = frozenset({"service"})

    service: ServiceName
    replicas: Replicas | None = Field(default=None, description='REPLICAS shows exactly this, e.g. "3/3"')
    image: ImageName | None = Field(default=None, description="the service runs this image")
    published_port: Annotated[int, Field(ge=1, le=65535)] | None = Field(
        default=None, description="the service publishes this port"
    )


class DockerServiceLs(Parser[SwarmService, SwarmServiceCondition]):
    name = "docker-service-ls"
    command = "docker service ls"
    columns = frozenset({"ID", "NAME", "MODE", "REPLICAS", "IMAGE", "PORTS"})
    condition = SwarmServiceCondition

    def needs(self, condition: SwarmServiceCondition) -> frozenset[str]:
        needed = {"NAME"}
        if condition.replicas is not None:
            needed.add("REPLICAS")
        if condition.image is not None:
            needed.add("IMAGE")
        if condition.published_port is not None:
            needed.add("PORTS")
        return frozenset(needed)

    def row(self, cells: Mapping[str, str]) -> SwarmService | None:
        service_id = cells.get("ID", "")
        if ("ID" in cells and not _SWARM_ID.fullmatch(service_id)) or not cells["NAME"] or " " in cells["NAME"]:
            return None
        return SwarmService(
            id=service_id,
            name=cells["NAME"],
            mode=cells.get("MODE", ""),
            replicas=cells.get("REPLICAS", "").partition(" ")[0],
            image=_image(cells.get("IMAGE", "")),
            ports=tuple(p for p in cells.get("PORTS", "").split(",") if p),
        )

    def judge(self, rows: Sequence[SwarmService], condition: SwarmServiceCondition) -> tuple[Message, list[Message]]:
        service = next((s for s in rows if s.name == condition.service), None)
        if service is None:
            missing = Message(
                "evidence.service_missing", {"service": condition.service, "listed": listing([s.name for s in rows])}
            )
            return Message("evidence.docker_service_ls.services", {"services": len(rows)}), [missing]
        found = Message(
            "evidence.docker_service_ls.found",
            {
                "service": condition.service,
                "replicas": echo(service.replicas or "-"),
                "image": echo(service.image or "-"),
            },
        )
        unmet = []
        if condition.replicas is not None and service.replicas != condition.replicas:
            unmet.append(
                Message(
                    "evidence.replicas_differ", {"found": echo(service.replicas or "-"), "wanted": condition.replicas}
                )
            )
        if condition.image is not None and service.image != condition.image:
            unmet.append(
                Message("evidence.image_differs", {"found": echo(service.image or "-"), "wanted": condition.image})
            )
        if condition.published_port is not None and not service.publishes(condition.published_port):
            unmet.append(
                Message(
                    "evidence.port_not_published",
                    {"port": condition.published_port, "ports": listing(list(service.ports))},
                )
            )
        return found, unmet


#: A task's name: its service, then its slot (or the node's id, for a global service).
_TASK_NAME = re.compile(r"(?P<previous>\\_ )?(?P<service>[a-zA-Z0-9][a-zA-Z0-9_.-]*)\.(?P<slot>[0-9a-z]+)")
#: The states a task ends in when it failed rather than being shut down.
_FAILED = frozenset({"Failed", "Rejected"})


@dataclass(frozen=True)
class SwarmTask:
    id: str
    service: str
    slot: str
    previous: bool  # indented ` \_ `: an earlier task of the slot, replaced by the one above it
    image: str
    desired_state: str
    state: str  # CURRENT STATE's first word: Running, Failed, Shutdown, Preparing, …
    error: str

    @property
    def running(self) -> bool:
        return not self.previous and self.state == "Running" and self.desired_state in ("", "Running")


class SwarmTasksCondition(Condition):
    selectors = frozenset({"service"})

    service: ServiceName
    running: PositiveInt | None = Field(default=None, description="at least this many tasks are running")
    replaced_failure: Literal[True] | None = Field(
        default=None, description="a task failed and a new task of its slot is running"
    )
    image: ImageName | None = Field(default=None, description="every running task runs this image")
    rolled_from: ImageName | None = Field(default=None, description="a previous task ran this image")


class DockerServicePs(Parser[SwarmTask, SwarmTasksCondition]):
    name = "docker-service-ps"
    command = "docker service ps"
    columns = frozenset({"ID", "NAME", "IMAGE", "NODE", "DESIRED STATE", "CURRENT STATE", "ERROR", "PORTS"})
    condition = SwarmTasksCondition

    def needs(self, condition: SwarmTasksCondition) -> frozenset[str]:
        needed = {"NAME", "CURRENT STATE"}
        if condition.image is not None or condition.rolled_from is not None:
            needed.add("IMAGE")
        return frozenset(needed)

    def row(self, cells: Mapping[str, str]) -> SwarmTask | None:
        name = _TASK_NAME.fullmatch(cells["NAME"])
        task_id = cells.get("ID", "")
        if name is None or ("ID" in cells and not _SWARM_ID.fullmatch(task_id)) or not cells["CURRENT STATE"]:
            return None
        return SwarmTask(
            id=task_id,
            service=name["service"],
            slot=name["slot"],
            previous=name["previous"] is not None,
            image=_image(cells.get("IMAGE", "")),
            desired_state=cells.get("DESIRED STATE", ""),
            state=cells["CURRENT STATE"].partition(" ")[0],
            error=cells.get("ERROR", ""),
        )

    def judge(self, rows: Sequence[SwarmTask], condition: SwarmTasksCondition) -> tuple[Message, list[Message]]:
        tasks = [task for task in rows if task.service == condition.service]
        if not tasks:
            services = sorted({task.service for task in rows})
            missing = Message("evidence.service_missing", {"service": condition.service, "listed": listing(services)})
            return Message("evidence.docker_service_ps.tasks", {"tasks": len(rows)}), [missing]
        running = [task for task in tasks if task.running]
        previous = [task for task in tasks if task.previous]
        found = Message(
            "evidence.docker_service_ps.found",
            {"service": condition.service, "tasks": len(tasks), "running": len(running), "previous": len(previous)},
        )
        unmet = at_least("evidence.what.running_tasks", len(running), condition.running)
        if condition.replaced_failure:
            unmet += self._replaced_failure(tasks, running)
        if condition.image is not None:
            others = [f"{task.service}.{task.slot} {task.image}" for task in running if task.image != condition.image]
            if others or not running:
                unmet.append(
                    Message("evidence.tasks_not_on_image", {"image": condition.image, "tasks": listing(others)})
                )
        if condition.rolled_from is not None and not any(task.image == condition.rolled_from for task in previous):
            unmet.append(Message("evidence.not_rolled_from", {"image": condition.rolled_from}))
        return found, unmet

    @staticmethod
    def _replaced_failure(tasks: Sequence[SwarmTask], running: Sequence[SwarmTask]) -> list[Message]:
        failed = [task for task in tasks if task.previous and task.state in _FAILED]
        if not failed:
            return [Message("evidence.docker_service_ps.no_failure")]
        running_slots = {task.slot for task in running}
        if not any(task.slot in running_slots for task in failed):
            slots = sorted({f"{task.service}.{task.slot}" for task in failed})
            return [Message("evidence.docker_service_ps.failure_not_replaced", {"tasks": listing(slots)})]
        return []
