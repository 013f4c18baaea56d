"""Which keys of a challenge file each kind takes: a break-fix challenge its scenarios and tiers and a rubric of
graded bonus items (a drill those but the rubric, and its `drill`), a build its rubric, namespaces, phases,
reference and repository layout, a lab its phases with checkpoints (and a
build's namespaces and reference). Checked on the document, where each key has its field to name."""

from __future__ import annotations

from typing import Any

#: The keys only a build takes; a break-fix challenge takes `scenarios` and `tiers` instead.
BUILD_KEYS = ("rubric", "namespaces", "phases", "reference", "repository")
#: The keys a lab takes of a build's: its checkpoints are in its phases.
LAB_KEYS = ("namespaces", "phases", "reference")


def kind_error(document: dict[str, Any]) -> tuple[str, str] | None:
    """(field, problem) when the document has a key its kind does not take, or lacks one it needs."""
    kind = document.get("kind", "break-fix")
    if kind != "drill" and "drill" in document:
        return "drill", "only a challenge of kind drill has it"
    if kind in ("break-fix", "drill"):
        for key in BUILD_KEYS:
            if key == "rubric" and kind == "break-fix":
                continue  # a break-fix challenge's graded bonus items (checked with the model)
            if key in document:
                return key, "only a challenge of kind build has it" + (" (or lab)" if key in LAB_KEYS else "")
        if "scenarios" not in document:
            return "scenarios", "required key is missing"
        if kind == "drill" and "drill" not in document:
            return "drill", "required key is missing"
    elif kind == "build":
        if "scenarios" in document:
            return "scenarios", "a build deploys no scenarios: its rubric says what the team builds"
        if "tiers" in document:
            return "tiers", "a build is scored by its rubric, not by time"
        if "rubric" not in document:
            return "rubric", "required key is missing"
        return _phase_error(document, lab=False)
    elif kind == "lab":
        for key in ("scenarios", "tiers", *BUILD_KEYS):
            if key in document and key not in LAB_KEYS:
                return key, "a lab has phases with checkpoints: it takes no " + key
        if "phases" not in document:
            return "phases", "required key is missing"
        return _phase_error(document, lab=True)
    return None


def _phase_error(document: dict[str, Any], *, lab: bool) -> tuple[str, str] | None:
    """A lab's phase needs an id and its checkpoints; a build's has neither (its items are in its rubric)."""
    for index, phase in enumerate(document.get("phases") or []):
        for key in ("id", "checkpoints"):
            if lab and key not in phase:
                return f"phases[{index}].{key}", "required key is missing"
            if not lab and key in phase:
                return f"phases[{index}].{key}", "only a lab's phase has it (a build's items are in its rubric)"
    return None
