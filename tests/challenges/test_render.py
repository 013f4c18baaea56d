"""What a verification, a hint and the end of a run look like in the run's thread, from results built here:
the symptom always, the diagnosis once the scenario's hints are out (or an instructor revealed it, or the
catalogue says so), guards marked as guards, each reason named once, and every field within Discord's
limits without losing the line that says what is wrong."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.challenges import render
from bot.challenges.catalog import Challenge
from bot.challenges.checks import Status
from bot.challenges.reports import CheckResult, ScenarioResult, StatusReport, Trigger, VerifyReport
from bot.challenges.timeline import HintDue, diagnosed
from bot.i18n import Message
from bot.limits import EMBED_FIELD_VALUE_MAX, fit_message, text_size, within_limits
from bot.store import HintSource, Run, ScenarioState, Team
from tests.scenarios.test_catalogue_behaviour import CATALOG

T0 = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
CHALLENGE = CATALOG.get(2)
SCHEDULER = (
    "Unschedulable: 0/3 nodes are available: 1 node(s) had untolerated taint "
    "{node-role.kubernetes.io/control-plane: }, 2 Insufficient cpu, 2 Insufficient memory. ×2"
)
TOO_LARGE = Message("check.diagnosis.request", {"resource": "cpu", "requested": "64", "max": "500m"})
REQUESTS_SYMPTOM = Message(
    "check.resource_requests_within.fail", {"name": "analytics", "container": "analytics", "resource": "cpu"}
)


def a_run(**changes: Any) -> Run:
    return Run(id=7, team_id=1, challenge_id=2, started_at=T0, deadline=T0 + timedelta(minutes=90), **changes)


def check(
    key: str, status: Status = Status.FAIL, *, diagnosis: Message | None = None, guard: bool = False, **params: Any
) -> CheckResult:
    return CheckResult(key.split(".")[1], {}, status, Message(key, params), diagnosis, guard)


def unschedulable(*checks: CheckResult) -> VerifyReport:
    """A verification of every scenario in which unschedulable has `checks` and the others pass."""
    results = tuple(
        ScenarioResult(
            s.id, checks if s.id == "unschedulable" else (check("check.pvc_bound.pass", Status.PASS, name="x"),)
        )
        for s in CHALLENGE.scenarios
    )
    return VerifyReport(a_run(), Trigger.MANUAL, T0 + timedelta(minutes=25), results, (), (), None)


def pending(**changes: Any) -> CheckResult:
    return check("check.no_pending_pods.fail", selector="app=analytics", count=2, problems=SCHEDULER, **changes)


def field(payload: dict[str, Any], scenario_id: str) -> str:
    title = CHALLENGE.scenario(scenario_id).spec.title.en
    (value,) = [f["value"] for f in payload["embeds"][0]["fields"] if title in f["name"]]
    return str(value)


def footer(payload: dict[str, Any]) -> str:
    return str(payload["embeds"][0].get("footer", {}).get("text", ""))


def test_the_symptom_always_and_the_diagnosis_once_the_scenario_is_diagnosed() -> None:
    report = unschedulable(pending(diagnosis=TOO_LARGE))
    held = render.results(report, CHALLENGE, "en", diagnosed=frozenset({"image-pull"}))
    assert field(held, "unschedulable").startswith("❌ Pods app=analytics: 2 Pending — Unschedulable: 0/3 nodes")
    assert "cpu request 64" not in str(held)
    assert "The diagnosis of a failing check (which field, which bound) is shown once every hint" in footer(held)

    shown = render.results(report, CHALLENGE, "en", diagnosed=frozenset({"unschedulable"}))
    lines = field(shown, "unschedulable").split("\n")
    assert lines[1] == "↳ 🔎 cpu request 64 is too large (at most 500m)"
    assert footer(shown) == ""
    korean = render.results(report, CHALLENGE, "ko", diagnosed=frozenset({"unschedulable"}))
    assert "↳ 🔎 cpu 요청량 64, 최대 500m" in field_ko(korean)


def field_ko(payload: dict[str, Any]) -> str:
    title = CHALLENGE.scenario("unschedulable").spec.title.ko
    (value,) = [f["value"] for f in payload["embeds"][0]["fields"] if title in f["name"]]
    return str(value)


def test_a_passing_check_shows_no_diagnosis_and_a_repeated_one_is_named_once() -> None:
    report = unschedulable(
        pending(diagnosis=TOO_LARGE),
        check(
            "check.deployment_available.fail",
            diagnosis=TOO_LARGE,
            name="analytics",
            available=0,
            wanted=2,
            problems=SCHEDULER,
        ),
        check("check.pods_ready.pass", Status.PASS, diagnosis=TOO_LARGE, selector="app=analytics", ready=2, total=2),
    )
    value = field(render.results(report, CHALLENGE, "en", diagnosed=frozenset({"unschedulable"})), "unschedulable")
    assert value.count("cpu request 64 is too large") == 1


def test_guards_are_marked_as_what_the_fix_must_not_break() -> None:
    report = unschedulable(
        pending(), check("check.deployment_available.pass", Status.PASS, guard=True, name="web", available=2, wanted=2)
    )
    payload = render.results(report, CHALLENGE, "en", diagnosed=frozenset())
    assert field(payload, "unschedulable").split("\n")[1] == "✅ 🛡️ Deployment web: 2/2 available"
    assert footer(payload) == (
        "🛡️ marks a guard: it passes while the scenario is still broken, and shows what your fix must not break."
    )
    assert "🛡️" not in footer(render.results(unschedulable(pending()), CHALLENGE, "en", diagnosed=frozenset()))


def test_what_the_pods_report_is_named_once_per_scenario() -> None:
    report = unschedulable(
        pending(),
        check("check.deployment_available.fail", name="analytics", available=0, wanted=2, problems=SCHEDULER),
        check("check.no_waiting_pods.fail", selector="app=analytics", problems=SCHEDULER),
        check("check.deployment_available.fail", name="idle", available=0, wanted=1, problems="-"),
    )
    payload = render.results(report, CHALLENGE, "en", diagnosed=frozenset())
    value = field(payload, "unschedulable")
    assert value.count("Insufficient cpu") == 1
    assert value.split("\n")[1:] == [
        "❌ Deployment analytics: 0/2 available; Pods: as above",
        "❌ Pods app=analytics: containers cannot start: as above",
        "❌ Deployment idle: 0/1 available; Pods: -",  # "none" is not a reason to refer back to
    ]
    assert "위와 같음" in field_ko(render.results(report, CHALLENGE, "ko", diagnosed=frozenset()))


def test_a_reason_is_named_once_when_another_check_sees_more_of_the_pods() -> None:
    # CloudMart's order-service: the Deployment's Pods are Pending and pulling a bad image, the pods check sees
    # only the Pending ones; the scheduler's message, written twice, was cut with "…" before its reason.
    pull = "ErrImagePull/ImagePullBackOff (image order-service:v2.1-broken) ×2"
    report = unschedulable(
        check("check.deployment_available.fail", name="order", available=0, wanted=5, problems=f"{SCHEDULER}; {pull}"),
        check("check.no_waiting_pods.not_created", selector="app=order", problems=SCHEDULER.replace("×2", "×3")),
        check("check.no_pending_pods.fail", selector="app=order", count=3, problems=SCHEDULER),
    )
    value = field(render.results(report, CHALLENGE, "en", diagnosed=frozenset()), "unschedulable")
    assert value.count("Insufficient cpu") == 1 and value.count("v2.1-broken") == 1
    assert value.split("\n")[1:] == [
        "❌ Pods app=order: no container has been created yet: as above",
        "❌ Pods app=order: 3 Pending — as above",
    ]
    # The other way round, the reason not yet named is written after the reference.
    first = check("check.no_pending_pods.fail", selector="app=order", count=3, problems=SCHEDULER)
    later = check(
        "check.deployment_available.fail", name="order", available=0, wanted=5, problems=f"{SCHEDULER}; {pull}"
    )
    value = field(render.results(unschedulable(first, later), CHALLENGE, "en", diagnosed=frozenset()), "unschedulable")
    assert value.split("\n")[1] == f"❌ Deployment order: 0/5 available; Pods: as above; {pull}"
    korean = field_ko(render.results(unschedulable(first, later), CHALLENGE, "ko", diagnosed=frozenset()))
    assert f"위와 같음; {pull}" in korean


def test_the_same_line_twice_is_written_once() -> None:
    gap = check(
        "check.could_not_check", Status.UNKNOWN, kind="Pod", reason="the bot's RBAC does not allow reading Pod (403)"
    )
    value = field(
        render.results(unschedulable(gap, gap, pending()), CHALLENGE, "en", diagnosed=frozenset()), "unschedulable"
    )
    assert value.split("\n")[0] == "⚠️ could not check: the bot's RBAC does not allow reading Pod (403)"
    assert len(value.split("\n")) == 2


def test_a_field_too_long_keeps_every_line_and_the_short_reason_whole() -> None:
    flood = SCHEDULER * 8
    report = unschedulable(
        check("check.no_pending_pods.fail", selector="app=a", count=9, problems=flood),
        check("check.resource_requests_within.fail", **REQUESTS_SYMPTOM.params),
        check("check.no_pending_pods.fail", selector="app=b", count=9, problems=flood + " (b)"),
    )
    payload = render.results(report, CHALLENGE, "en", diagnosed=frozenset())
    value = field(payload, "unschedulable")
    assert text_size(value) <= EMBED_FIELD_VALUE_MAX
    lines = value.split("\n")
    assert lines[1] == "❌ Deployment analytics, container analytics: requests more cpu than this service may reserve"
    assert lines[0].startswith("❌ Pods app=a: 9 Pending") and lines[2].startswith("❌ Pods app=b: 9 Pending")
    assert all(within_limits(part) == [] for part in fit_message(payload))


def test_one_scenario_verified_says_how_far_the_run_is() -> None:
    states = tuple(
        ScenarioState(id=i, run_id=7, scenario_id=s.id, status="solved" if i < 2 else "pending")
        for i, s in enumerate(CHALLENGE.scenarios)
    )
    result = ScenarioResult("unschedulable", (pending(),))
    report = VerifyReport(
        a_run(), Trigger.MANUAL, T0 + timedelta(minutes=12), (result,), states, (), None, scenario_id="unschedulable"
    )
    embed = render.results(report, CHALLENGE, "en", diagnosed=frozenset())["embeds"][0]
    assert embed["title"] == "🔍 Verification: Scheduling failure due to insufficient resources (12:00 elapsed)"
    assert embed["description"] == "2 of 4 scenarios solved so far"
    assert [f["name"] for f in embed["fields"]] == ["❌ Scheduling failure due to insufficient resources"]
    assert render.verify_summary(report, CHALLENGE, "en").startswith("2 of 4 scenarios solved so far — ")
    assert render.verify_summary(report, CHALLENGE, "ko").startswith("지금까지 4개 중 2개 시나리오 해결")


def test_the_mark_is_one_message_of_results_and_hints() -> None:
    hints = [HintDue(s.id, 0, s.spec.hints[0]) for s in CHALLENGE.scenarios]
    report = replace(unschedulable(pending()), trigger=Trigger.AUTO, at=T0 + timedelta(minutes=20))
    payload = render.automatic(report, hints, CHALLENGE, "en", diagnosed=frozenset())
    titles = [e["title"] for e in payload["embeds"]]
    assert titles[0] == "⏰ Automatic verification (20:00 elapsed)"
    assert titles[1:] == [f"💡 Hint 1/3 — {s.spec.title.en}" for s in CHALLENGE.scenarios]
    assert len(fit_message(payload)) == 1


def test_a_hint_says_who_asked_and_when_it_opens_the_diagnosis() -> None:
    image = CHALLENGE.scenario("image-pull")
    first, last = (HintDue("image-pull", level, image.spec.hints[level]) for level in (0, 2))
    assert "footer" not in render.hint(first, CHALLENGE, "en", source=HintSource.auto)["embeds"][0]
    assert "footer" not in render.hint(first, CHALLENGE, "en", source=HintSource.requested)["embeds"][0]
    asked = render.hint(first, CHALLENGE, "en", source=HintSource.requested, by="Blue Student 1")["embeds"][0]
    assert asked["footer"]["text"] == "asked for by Blue Student 1"
    revealed = render.hint(last, CHALLENGE, "en", source=HintSource.revealed, by="Kim")["embeds"][0]
    assert revealed["footer"]["text"] == (
        "revealed by instructor Kim · "
        "This scenario's last hint: from now on its verification results show the diagnosis too."
    )
    told = replace(CHALLENGE, spec=CHALLENGE.spec.model_copy(update={"feedback": "diagnosis"}))
    assert "footer" not in render.hint(last, told, "en", source=HintSource.auto)["embeds"][0]


def test_which_scenarios_are_diagnosed() -> None:
    every = frozenset(s.id for s in CHALLENGE.scenarios)
    assert diagnosed(CHALLENGE, a_run(), []) == frozenset()
    # However they came, all three hints of image-pull: its diagnosis opens, and no other.
    assert diagnosed(CHALLENGE, a_run(), [("image-pull", 0), ("image-pull", 1), ("unschedulable", 0)]) == frozenset()
    assert diagnosed(CHALLENGE, a_run(), [("image-pull", level) for level in range(3)]) == {"image-pull"}
    assert diagnosed(CHALLENGE, a_run(diagnosis_revealed_by="Kim"), []) == every
    told = replace(CHALLENGE, spec=CHALLENGE.spec.model_copy(update={"feedback": "diagnosis"}))
    assert diagnosed(told, a_run(), []) == every
    assert diagnosed(without_hints("node-affinity"), a_run(), []) == {"node-affinity"}


def without_hints(scenario_id: str) -> Challenge:
    scenarios = tuple(
        replace(s, spec=s.spec.model_copy(update={"hints": []})) if s.id == scenario_id else s
        for s in CHALLENGE.scenarios
    )
    return replace(CHALLENGE, scenarios=scenarios)


def test_the_status_counts_hints_apart_and_says_no_more_of_a_skipped_scenario() -> None:
    cloudmart = CATALOG.get(1)
    states = tuple(
        ScenarioState(
            id=i,
            run_id=7,
            scenario_id=s.id,
            status="skipped" if s.spec.scope == "cluster" else "pending",
            attempts=0 if s.spec.scope == "cluster" else 1,
        )
        for i, s in enumerate(cloudmart.scenarios)
    )
    report = StatusReport(
        Run(id=7, team_id=1, challenge_id=1, started_at=T0, deadline=T0 + timedelta(minutes=65)),
        Team(id=1, name="blue", namespace="kubecamp-blue"),
        cloudmart,
        T0 + timedelta(minutes=30),
        states,
        hints_used={"networking": 1},
        hints_automatic={s.id: 1 for s in cloudmart.scenarios if s.spec.scope != "cluster"},
        diagnosed=frozenset(s.id for s in cloudmart.scenarios),  # an instructor revealed them
    )
    lines = render.status(report, "en")["embeds"][0]["description"].split("\n")
    skipped = [s.spec.title.en for s in cloudmart.scenarios if s.spec.scope == "cluster"]
    assert [f"⏭️ {title} · skipped (not deployed on this cluster)" for title in skipped] == [
        line for line in lines if line.startswith("⏭️")
    ]
    networking = cloudmart.scenario("networking").spec.title.en
    assert f"⏳ {networking} · verified 1× · hints used: 1 · automatic hints: 1 · 🔎 diagnosis shown" in lines
    korean = render.status(report, "ko")["embeds"][0]["description"]
    assert "건너뜀" in korean and korean.count("진단 공개") == len(cloudmart.scenarios) - len(skipped)
