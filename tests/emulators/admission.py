"""Validating admission policies (``admissionregistration.k8s.io/v1``), evaluated with cel-python as the
API server evaluates them (k8s.io/apiserver/pkg/admission/plugin/policy/validating, v1.33).

The emulator loads the chart's own policy and binding (``chart_policies``), rendered with Helm as an
instructor would install them, so the bot's tests meet the 403 a real cluster gives. A faithful subset:

- ``matchConstraints.resourceRules``: apiGroups, apiVersions, resources (``*``, ``*/*``, ``<resource>/*``,
  ``<resource>/<subresource>``) and operations; ``excludeResourceRules``;
- ``matchConditions``, ``variables`` (a variable that fails is an error only where it is used, as the
  API server evaluates them lazily), ``validations[].expression`` with ``message``;
- ``object``, ``oldObject`` (null on CREATE), ``request`` (AdmissionRequest's fields), ``namespaceObject``
  (null for cluster-scoped kinds and for Namespaces themselves);
- ``failurePolicy`` Fail (an expression error denies) or Ignore; a binding's ``validationActions`` Deny.

A policy with parameters, selectors, ``messageExpression`` or ``auditAnnotations`` is refused when loaded,
rather than half-evaluated.
"""

from __future__ import annotations

import functools
import json
from collections import OrderedDict
from pathlib import Path
from typing import Any

import celpy
import helm_python
import yaml
from celpy.adapter import json_to_cel
from celpy.evaluation import CELEvalError, Evaluator
from lark import Token, Tree

from bot.yaml_safe import SafeLoader

from .resources import Obj, ResourceDef

CHART = Path(__file__).resolve().parents[2] / "helm" / "kubecamp-bot"
#: The release the chart is rendered as: its ServiceAccount is the emulator's bot user.
RELEASE = "kubecamp-bot"
RELEASE_NAMESPACE = "kubecamp"
BOT_USER = f"system:serviceaccount:{RELEASE_NAMESPACE}:{RELEASE}"

_UNSUPPORTED_SPEC = ("paramKind", "auditAnnotations")
#: Verdicts a policy remembers (see `ValidatingPolicy.denial`).
_REMEMBERED = 4096
_UNSUPPORTED_MATCH = ("namespaceSelector", "objectSelector")


class PolicyError(ValueError):
    """A policy uses a part of the API this emulator does not evaluate."""


class _ShortCircuitEvaluator(Evaluator):
    """cel-python's evaluator, except that ``a || b`` with ``a`` true and ``a && b`` with ``a`` false do not
    evaluate ``b``: the result is the same (CEL's ``true || x`` is true and ``false && x`` false for any ``x``,
    an error included), and the chart's validations are written as ``!applies || …`` and
    ``kind != … || …``, so most of each one is never needed for most requests."""

    def conditionalor(self, tree: Any) -> Any:
        if len(tree.children) == 2:
            left = self.visit(tree.children[0])
            if isinstance(left, celpy.celtypes.BoolType) and left:
                return left
            return self._logical("_||_", tree, left, self.visit(tree.children[1]))
        return super().conditionalor(tree)

    def conditionaland(self, tree: Any) -> Any:
        if len(tree.children) == 2:
            left = self.visit(tree.children[0])
            if isinstance(left, celpy.celtypes.BoolType) and not left:
                return left
            return self._logical("_&&_", tree, left, self.visit(tree.children[1]))
        return super().conditionaland(tree)

    def _logical(self, name: str, tree: Any, left: Any, right: Any) -> Any:
        """``left <name> right`` as cel-python's evaluator gives it, its error included."""
        try:
            return self.activation.resolve_function(name)(left, right)
        except TypeError as exc:
            error = CELEvalError(
                f"found no matching overload for {name} applied to '({type(left)}, {type(right)})'",
                exc.__class__,
                exc.args,
                tree=tree,
            )
            error.__cause__ = exc
            return error


class _ShortCircuitRunner(celpy.InterpretedRunner):
    def evaluate(self, context: Any) -> Any:
        return _ShortCircuitEvaluator(ast=self.ast, activation=self.new_activation()).evaluate(context)


class _Expression:
    def __init__(self, environment: celpy.Environment, text: str) -> None:
        self.text = text
        self.ast = environment.compile(text)
        self._program = environment.program(self.ast)

    def evaluate(self, activation: dict[str, Any]) -> Any:
        return self._program.evaluate(activation)


class ValidatingPolicy:
    """One ValidatingAdmissionPolicy with its binding."""

    def __init__(self, policy: Obj, binding: Obj) -> None:
        spec = policy["spec"]
        for field in _UNSUPPORTED_SPEC:
            if spec.get(field):
                raise PolicyError(f"{field} is not emulated")
        match = spec.get("matchConstraints") or {}
        binding_spec = binding["spec"]
        for part in (match, binding_spec.get("matchResources") or {}):
            for field in _UNSUPPORTED_MATCH:
                if part.get(field):
                    raise PolicyError(f"{field} is not emulated")
        if binding_spec.get("paramRef") or binding_spec.get("matchResources"):
            raise PolicyError("a binding's paramRef and matchResources are not emulated")
        if binding_spec["policyName"] != policy["metadata"]["name"]:
            raise PolicyError("the binding names another policy")
        if any(v.get("messageExpression") for v in spec["validations"]):
            raise PolicyError("messageExpression is not emulated")
        self.name = policy["metadata"]["name"]
        self.binding = binding["metadata"]["name"]
        self.denies = "Deny" in binding_spec["validationActions"]
        self.fail_closed = spec.get("failurePolicy", "Fail") == "Fail"
        self._rules = match.get("resourceRules") or []
        self._excluded = match.get("excludeResourceRules") or []
        environment = celpy.Environment(runner_class=_ShortCircuitRunner)
        self._conditions = [_Expression(environment, c["expression"]) for c in spec.get("matchConditions") or []]
        self._variables = [(v["name"], _Expression(environment, v["expression"])) for v in spec.get("variables") or []]
        self._validations = [(_Expression(environment, v["expression"]), v.get("message")) for v in spec["validations"]]
        expressions = [*self._conditions, *(e for _, e in self._variables), *(e for e, _ in self._validations)]
        self._reads = {root: _paths_read(root, [e.ast for e in expressions]) for root in _DOCUMENTS}
        self._verdicts: OrderedDict[str, str | None] = OrderedDict()

    def denial(self, request: Obj, obj: Obj | None, old: Obj | None, namespace: Obj | None) -> str | None:
        """Why the request is denied ("ValidatingAdmissionPolicy '…' with binding '…' denied request: …"),
        or None when the policy does not match it or lets it through."""
        if not self.denies or not self._matches(request):
            return None
        # A verdict is a function of the parts of the four documents its expressions read (CEL has no clock, no
        # randomness, no I/O), and the same writes come again and again (every test deploys the same scenarios):
        # evaluating cel-python's tree was a tenth of the CPU of the suite. What differs between them is mostly
        # what no expression reads (the request's uid, resourceVersions, timestamps), so only what is read is
        # the key.
        documents = dict(zip(_DOCUMENTS, (request, obj, old, namespace), strict=True))
        key = json.dumps([_project(documents[root], self._reads[root]) for root in _DOCUMENTS])
        if key in self._verdicts:
            self._verdicts.move_to_end(key)
            return self._verdicts[key]
        verdict = self._evaluate(request, obj, old, namespace)
        self._verdicts[key] = verdict
        if len(self._verdicts) > _REMEMBERED:
            self._verdicts.popitem(last=False)
        return verdict

    def _evaluate(self, request: Obj, obj: Obj | None, old: Obj | None, namespace: Obj | None) -> str | None:
        activation: dict[str, Any] = {
            "object": json_to_cel(obj),
            "oldObject": json_to_cel(old),
            "request": json_to_cel(request),
            "namespaceObject": json_to_cel(namespace),
        }
        for condition in self._conditions:
            try:
                if not _true(condition.evaluate(activation)):
                    return None
            except CELEvalError as exc:
                return self._denied(_failed(condition, exc)) if self.fail_closed else None
        activation["variables"] = _LazyVariables(self._variables, activation)
        for expression, message in self._validations:
            try:
                passed = _true(expression.evaluate(activation))
            except CELEvalError as exc:
                if not self.fail_closed:
                    continue
                return self._denied(_failed(expression, exc))
            if not passed:
                return self._denied(message or f"failed expression: {expression.text}")
        return None

    def _denied(self, why: str) -> str:
        return f"ValidatingAdmissionPolicy '{self.name}' with binding '{self.binding}' denied request: {why}"

    def _matches(self, request: Obj) -> bool:
        return any(_rule_matches(r, request) for r in self._rules) and not any(
            _rule_matches(r, request) for r in self._excluded
        )


#: The documents a policy's expressions see, by the names they use.
_DOCUMENTS = ("request", "object", "oldObject", "namespaceObject")


def _paths_read(root: str, trees: list[Tree[Token]]) -> list[tuple[str, ...]] | None:
    """The field paths (``object.metadata.labels`` → ``("metadata", "labels")``) through which the expressions
    read the document ``root``; None when one uses it otherwise than by selecting fields (whole, or indexed:
    then all of it counts). A path stops where a macro, a method or an index takes over: what is below it
    counts whole."""
    # Every token that names the root (as an identifier, a field or a macro's variable) must be the start of a
    # field selection, or the whole document counts.
    uses = sum(1 for tree in trees for _ in tree.scan_values(lambda v: isinstance(v, Token) and str(v) == root))
    chains: list[tuple[str, ...]] = []
    for tree in trees:
        _collect_chains(tree, root, chains)
    return sorted(set(chains)) if len(chains) == uses else None


def _collect_chains(tree: Tree[Token], root: str, chains: list[tuple[str, ...]]) -> None:
    """The longest ``root.a.b…`` field selections in ``tree``, outermost first, one per use of ``root``."""
    chain = _chain(tree, root)
    if chain is not None:
        chains.append(chain)
        return
    for child in tree.children:
        if isinstance(child, Tree):
            _collect_chains(child, root, chains)


def _chain(tree: Tree[Token], root: str) -> tuple[str, ...] | None:
    """``root.a.b`` as ``("a", "b")`` when ``tree`` is exactly that member selection (``root`` alone: ``()``)."""
    if tree.data == "member" and len(tree.children) == 1 and isinstance(tree.children[0], Tree):
        return _chain(tree.children[0], root)
    if tree.data == "member_dot" and len(tree.children) == 2 and isinstance(tree.children[0], Tree):
        head = _chain(tree.children[0], root)
        return None if head is None else (*head, str(tree.children[1]))
    if tree.data == "primary" and len(tree.children) == 1 and isinstance(tree.children[0], Tree):
        ident = tree.children[0]
        if ident.data == "ident" and str(ident.children[0]) == root:
            return ()
    return None


def _project(document: Any, paths: list[tuple[str, ...]] | None) -> Any:
    """What of ``document`` the paths reach: each path's value whole, an absent field absent. A value that is
    not an object where a path goes on counts whole (selecting a field of it is an error either way)."""
    if paths is None or not isinstance(document, dict):
        return document
    projected: dict[str, Any] = {}
    for path in paths:
        if not path:
            return document
        source, target = document, projected
        for depth, field in enumerate(path):
            if field not in source:
                break
            value = source[field]
            if depth == len(path) - 1 or not isinstance(value, dict):
                target[field] = value
                break
            existing = target.get(field)
            if existing is value:  # a shorter path took it whole
                break
            if not isinstance(existing, dict):
                existing = target[field] = {}
            source, target = value, existing
    return projected


class _LazyVariables(celpy.celtypes.MapType):
    """``variables``: each evaluated when first used, once, as the API server does; one that fails is an
    error only where it is used."""

    def __init__(self, expressions: list[tuple[str, _Expression]], activation: dict[str, Any]) -> None:
        super().__init__()
        self._expressions = dict(expressions)
        self._activation = activation

    def __getitem__(self, key: Any) -> Any:
        if not super().__contains__(key) and str(key) in self._expressions:
            try:
                value = self._expressions[str(key)].evaluate(self._activation)
            except CELEvalError as exc:
                value = exc
            super().__setitem__(key, value)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        return str(key) in self._expressions


def admission_request(
    res: ResourceDef, *, operation: str, name: str, namespace: str, username: str, subresource: str | None, uid: str
) -> Obj:
    """An AdmissionRequest's fields, as the policies' ``request`` sees them (no conversion: the request's
    version is the stored one)."""
    kind = {"group": res.group, "version": res.version, "kind": res.kind}
    resource = {"group": res.group, "version": res.version, "resource": res.plural}
    return {
        "uid": uid,
        "kind": kind,
        "resource": resource,
        "subResource": subresource or "",
        "requestKind": kind,
        "requestResource": resource,
        "name": name,
        "namespace": namespace,
        "operation": operation,
        "userInfo": {"username": username},
        "dryRun": False,
    }


def _failed(expression: _Expression, error: CELEvalError) -> str:
    return f"expression '{expression.text}' resulted in error: {error.args[0]}"


def _true(value: Any) -> bool:
    if not isinstance(value, celpy.celtypes.BoolType):
        raise CELEvalError(f"expected a bool, got {type(value).__name__}")
    return bool(value)


def _rule_matches(rule: Obj, request: Obj) -> bool:
    """A NamedRuleWithOperations against the request (apiserver/pkg/admission/plugin/webhook/predicates/rules)."""
    resource = request["resource"]
    operations = rule.get("operations") or []
    if "*" not in operations and request["operation"] not in operations:
        return False
    groups, versions = rule.get("apiGroups") or [], rule.get("apiVersions") or []
    if "*" not in groups and resource["group"] not in groups:
        return False
    if "*" not in versions and resource["version"] not in versions:
        return False
    name = resource["resource"]
    sub = request.get("subResource") or ""
    for pattern in rule.get("resources") or []:
        if pattern == "*/*":
            return True
        if pattern == "*":
            if not sub:
                return True
            continue
        head, _, tail = pattern.partition("/")
        if head == "*" and tail == sub and sub:
            return True
        if head == name and (tail == sub or (tail == "*" and sub)):
            return True
    return False


#: The database URL the chart is rendered with for two replicas (they need PostgreSQL); never connected to.
TWO_REPLICAS_DATABASE = "postgresql+asyncpg://kubecamp@postgres.kubecamp:5432/kubecamp"


@functools.cache
def _rendered_chart(replicas: int = 1) -> tuple[Obj, ...]:
    # The least the chart renders with: a token and the instructors' role id (and PostgreSQL for two replicas).
    values: Obj = {"discord": {"token": "emulated", "instructorRole": "523456789012345678"}}
    if replicas > 1:
        values |= {"replicaCount": replicas, "database": {"url": TWO_REPLICAS_DATABASE}}
    files = helm_python.Chart.load(CHART).render(
        values,
        name=RELEASE,
        namespace=RELEASE_NAMESPACE,
        is_install=True,
    )
    return tuple(
        doc
        for path, text in sorted(dict(files).items())
        if not path.endswith("NOTES.txt")
        for doc in yaml.load_all(text, Loader=SafeLoader)
        if doc
    )


@functools.cache
def chart_policies(replicas: int = 1) -> tuple[ValidatingPolicy, ...]:
    """The chart's ValidatingAdmissionPolicies with their bindings, as rendered with its default values (with
    `replicas` 2: as for an active + warm standby pair, which lets the bot write its Lease)."""
    objects = _rendered_chart(replicas)
    bindings = {o["spec"]["policyName"]: o for o in objects if o["kind"] == "ValidatingAdmissionPolicyBinding"}
    return tuple(
        ValidatingPolicy(o, bindings[o["metadata"]["name"]])
        for o in objects
        if o["kind"] == "ValidatingAdmissionPolicy" and o["metadata"]["name"] in bindings
    )


def chart_objects(kind: str) -> list[Obj]:
    """The chart's objects of one kind, as rendered with its default values."""
    return [o for o in _rendered_chart() if o["kind"] == kind]


def chart_settings(replicas: int = 1) -> dict[str, str]:
    """The bot's settings as the chart gives them (its ConfigMap): the team role, the ServiceAccount."""
    (configmap,) = [
        o for o in _rendered_chart(replicas) if o["kind"] == "ConfigMap" and "KUBECAMP_DATA_DIR" in o["data"]
    ]
    data: dict[str, str] = configmap["data"]
    return data
