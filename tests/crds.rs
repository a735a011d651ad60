//! The CRDs in deploy/crds are exactly what the Rust types generate, carry what `kubectl get`
//! and the API server need, and accept the samples in deploy/samples (checked with a JSON
//! Schema validator against the generated openAPIV3Schema). CEL rules are checked here for
//! presence and placement only; .ci/validate-manifests.sh evaluates them (cel-python).
//!
//! `KFO_UPDATE_CRDS=1 cargo test --test crds` rewrites deploy/crds/failover.yaml.

use kube::CustomResourceExt;
use kubectl_failover::crd::{self, CRD_PATH, Failover, FailoverGroup, GroupTimeouts, WorkloadKind};
use kubectl_failover::duration::GoDuration;
use serde_json::{Value, json};
use std::path::PathBuf;

fn repo_file(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn read(relative: &str) -> String {
    std::fs::read_to_string(repo_file(relative))
        .unwrap_or_else(|e| panic!("cannot read {relative}: {e}"))
}

fn crd_json<K: CustomResourceExt>() -> Value {
    serde_json::to_value(K::crd()).unwrap()
}

fn schema_of(crd: &Value) -> Value {
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"].clone()
}

fn yaml_doc(relative: &str) -> Value {
    serde_saphyr::from_str(&read(relative)).unwrap()
}

fn errors(schema: &Value, doc: &Value) -> Vec<String> {
    let validator = jsonschema::draft4::new(schema).expect("the generated schema compiles");
    validator
        .iter_errors(doc)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

#[test]
fn the_committed_crds_are_exactly_what_the_rust_types_generate() {
    let generated = crd::crd_yaml().unwrap();
    let path = repo_file(CRD_PATH);
    if std::env::var_os("KFO_UPDATE_CRDS").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &generated).unwrap();
        eprintln!("rewrote {CRD_PATH}");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != generated {
        let line = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| committed.lines().count().min(generated.lines().count()));
        panic!(
            "{CRD_PATH} differs from the CRDs the types in src/crd generate (first at line {}: \
             committed {:?}, generated {:?}). Regenerate it with \
             `KFO_UPDATE_CRDS=1 cargo test --test crds` and commit the result.",
            line + 1,
            committed.lines().nth(line),
            generated.lines().nth(line),
        );
    }
}

fn column_names(crd: &Value) -> Vec<String> {
    crd["spec"]["versions"][0]["additionalPrinterColumns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_uppercase())
        .collect()
}

#[test]
fn the_failover_group_crd_has_its_short_names_columns_and_status_subresource() {
    let crd = crd_json::<FailoverGroup>();
    assert_eq!(
        crd["metadata"]["name"],
        "failovergroups.kubectl-failover.io"
    );
    assert_eq!(crd["spec"]["scope"], "Namespaced");
    assert_eq!(crd["spec"]["names"]["shortNames"], json!(["fg", "fgs"]));
    assert_eq!(crd["spec"]["versions"][0]["name"], "v1alpha1");
    assert_eq!(
        crd["spec"]["versions"][0]["subresources"]["status"],
        json!({})
    );
    assert_eq!(
        column_names(&crd),
        ["ROLE", "ACTIVE", "HEALTH", "SUSPENDED", "PHASE", "AGE"]
    );
}

#[test]
fn the_failover_crd_has_its_short_name_columns_and_status_subresource() {
    let crd = crd_json::<Failover>();
    assert_eq!(crd["metadata"]["name"], "failovers.kubectl-failover.io");
    assert_eq!(crd["spec"]["names"]["shortNames"], json!(["fo"]));
    assert_eq!(
        crd["spec"]["versions"][0]["subresources"]["status"],
        json!({})
    );
    assert_eq!(column_names(&crd), ["TARGET", "MODE", "STATUS", "AGE"]);
}

fn rules(node: &Value) -> Vec<String> {
    node["x-kubernetes-validations"]
        .as_array()
        .map(|r| {
            r.iter()
                .map(|r| r["rule"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn the_failover_spec_and_each_of_its_fields_are_immutable_by_cel_transition_rules() {
    let spec = &schema_of(&crd_json::<Failover>())["properties"]["spec"];
    assert!(
        rules(spec).contains(&"self == oldSelf".to_string()),
        "{spec}"
    );
    let fields = [
        "targetCluster",
        "failoverMode",
        "force",
        "reason",
        "failoverGroups",
    ];
    let properties = spec["properties"].as_object().unwrap();
    assert_eq!(
        properties.len(),
        fields.len(),
        "a new spec field needs a rule"
    );
    for field in fields {
        assert_eq!(
            rules(&properties[field]).first().map(String::as_str),
            Some("self == oldSelf"),
            "spec.{field} is not immutable"
        );
    }
}

#[test]
fn the_failover_group_schema_carries_the_protocols_timing_rules_as_cel() {
    let spec = &schema_of(&crd_json::<FailoverGroup>())["properties"]["spec"];
    let all = rules(spec).join("\n");
    for needle in [
        "duration(self.heartbeatInterval) > duration('0s')",
        "duration(self.timeouts.heartbeat) >= duration(self.heartbeatInterval) + duration(self.heartbeatInterval) + duration(self.heartbeatInterval) + duration(self.heartbeatInterval)",
        "duration(self.timeouts.transitoryState) > duration(self.timeouts.heartbeat) + duration(self.timeouts.deactivation) + duration(self.heartbeatInterval) + duration(self.heartbeatInterval)",
        "duration(self.timeouts.unhealthyPrimary) >= duration(self.heartbeatInterval)",
    ] {
        assert!(all.contains(needle), "missing rule {needle}\nin:\n{all}");
    }
}

/// What the API server checks when it accepts a CRD, for the parts kube's derive does not
/// guarantee: list-map keys required in their items, CEL `fieldPath`s naming real properties,
/// transition rules outside list items, and `self.X` in spec rules always present (defaulted).
fn check_structure(node: &Value, path: &str, in_list_item: bool, problems: &mut Vec<String>) {
    if node["x-kubernetes-list-type"] == "map" {
        let required = node["items"]["required"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for key in node["x-kubernetes-list-map-keys"].as_array().unwrap() {
            if !required.contains(key) {
                problems.push(format!("{path}: list-map key {key} is not required"));
            }
        }
    }
    for rule in node["x-kubernetes-validations"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if let Some(field_path) = rule["fieldPath"].as_str() {
            let mut at = node;
            for part in field_path.trim_start_matches('.').split('.') {
                at = &at["properties"][part];
            }
            if at.is_null() {
                problems.push(format!("{path}: fieldPath {field_path} names no property"));
            }
        }
        if in_list_item && rule["rule"].as_str().unwrap().contains("oldSelf") {
            problems.push(format!("{path}: transition rule inside a list item"));
        }
    }
    for (name, child) in node["properties"].as_object().into_iter().flatten() {
        check_structure(child, &format!("{path}.{name}"), in_list_item, problems);
    }
    if node["items"].is_object() {
        check_structure(&node["items"], &format!("{path}[]"), true, problems);
    }
}

#[test]
fn the_generated_schemas_meet_the_api_servers_structural_rules() {
    let mut problems = Vec::new();
    for crd in [crd_json::<FailoverGroup>(), crd_json::<Failover>()] {
        check_structure(&schema_of(&crd), "", false, &mut problems);
    }
    // The timing rules read heartbeatInterval and timeouts.* without has(): the schema must
    // default them, or a spec without them would fail with "no such key".
    let spec = &schema_of(&crd_json::<FailoverGroup>())["properties"]["spec"];
    for (path, node) in [
        (
            "heartbeatInterval",
            &spec["properties"]["heartbeatInterval"],
        ),
        ("timeouts", &spec["properties"]["timeouts"]),
        (
            "defaultFailoverMode",
            &spec["properties"]["defaultFailoverMode"],
        ),
    ] {
        if node["default"].is_null() {
            problems.push(format!("spec.{path} has no default but CEL rules read it"));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

fn undocumented(node: &Value, path: &str, out: &mut Vec<String>) {
    for (name, child) in node["properties"].as_object().into_iter().flatten() {
        let here = format!("{path}.{name}");
        let generated =
            ["apiVersion", "kind", "metadata"].contains(&name.as_str()) && path.is_empty();
        if !generated
            && child["description"]
                .as_str()
                .is_none_or(|d| d.trim().is_empty())
        {
            out.push(here.clone());
        }
        undocumented(child, &here, out);
    }
    if node["items"].is_object() {
        undocumented(&node["items"], &format!("{path}[]"), out);
    }
}

#[test]
fn every_field_has_a_description_for_kubectl_explain() {
    let mut missing = Vec::new();
    for crd in [crd_json::<FailoverGroup>(), crd_json::<Failover>()] {
        undocumented(
            &schema_of(&crd),
            crd["spec"]["names"]["kind"].as_str().unwrap(),
            &mut missing,
        );
    }
    assert!(missing.is_empty(), "no description: {missing:#?}");
}

#[test]
fn the_schema_defaults_are_the_coordination_tables_defaults() {
    let spec = &schema_of(&crd_json::<FailoverGroup>())["properties"]["spec"]["properties"];
    assert_eq!(spec["heartbeatInterval"]["default"], "15s");
    assert_eq!(
        spec["timeouts"]["default"],
        serde_json::to_value(GroupTimeouts::default()).unwrap()
    );
    let table = kubectl_failover::store::Timeouts::default();
    assert_eq!(
        spec["timeouts"]["default"]["heartbeat"],
        table.heartbeat.to_string()
    );
    assert_eq!(
        spec["timeouts"]["default"]["transitoryState"],
        table.transitory_state.to_string()
    );
    assert_eq!(spec["selfFencing"]["default"], true);
    assert_eq!(spec["defaultFailoverMode"]["default"], "CONSISTENCY");
}

const GROUP_SAMPLE: &str = "deploy/samples/failovergroup.yaml";
const FAILOVER_SAMPLE: &str = "deploy/samples/failover.yaml";

#[test]
fn the_samples_parse_into_the_rust_types_and_pass_the_controllers_checks() {
    let group: FailoverGroup = serde_saphyr::from_str(&read(GROUP_SAMPLE)).unwrap();
    assert_eq!(group.spec.workloads[0].kind, WorkloadKind::StatefulSet);
    let settings = group
        .settings("failover-operator", chrono::Utc::now())
        .unwrap();
    assert_eq!(settings.group.to_string(), "shop/web");
    assert_eq!(settings.bootstrap.owner_cluster, "east");

    let failover: Failover = serde_saphyr::from_str(&read(FAILOVER_SAMPLE)).unwrap();
    assert_eq!(failover.target().unwrap(), "west");
    let groups: Vec<String> = failover
        .group_ids()
        .unwrap()
        .iter()
        .map(|g| g.to_string())
        .collect();
    assert_eq!(groups, ["shop/web"]);
}

#[test]
fn the_samples_validate_against_the_generated_schemas() {
    let group = errors(
        &schema_of(&crd_json::<FailoverGroup>()),
        &yaml_doc(GROUP_SAMPLE),
    );
    assert!(group.is_empty(), "{GROUP_SAMPLE}: {group:#?}");
    let failover = errors(
        &schema_of(&crd_json::<Failover>()),
        &yaml_doc(FAILOVER_SAMPLE),
    );
    assert!(failover.is_empty(), "{FAILOVER_SAMPLE}: {failover:#?}");
}

/// Fields of `value` the schema does not know: the API server would silently drop them (a typo
/// such as `heartbeatIntervall` would be lost, not refused).
fn unknown_fields(schema: &Value, value: &Value, path: &str, out: &mut Vec<String>) {
    match value {
        Value::Object(map) if schema["properties"].is_object() => {
            for (key, child) in map {
                let known = &schema["properties"][key];
                if !known.is_null() {
                    unknown_fields(known, child, &format!("{path}.{key}"), out);
                } else if !(path.is_empty()
                    && ["apiVersion", "kind", "metadata"].contains(&key.as_str()))
                {
                    out.push(format!("{path}.{key}"));
                }
            }
        }
        Value::Array(items) if schema["items"].is_object() => {
            for (i, item) in items.iter().enumerate() {
                unknown_fields(&schema["items"], item, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn the_samples_have_no_field_the_api_server_would_drop() {
    for (schema, sample) in [
        (schema_of(&crd_json::<FailoverGroup>()), GROUP_SAMPLE),
        (schema_of(&crd_json::<Failover>()), FAILOVER_SAMPLE),
    ] {
        let mut unknown = Vec::new();
        unknown_fields(&schema, &yaml_doc(sample), "", &mut unknown);
        assert!(unknown.is_empty(), "{sample}: unknown fields {unknown:?}");
        let mut typo = yaml_doc(sample);
        typo["spec"]["forse"] = json!(true);
        unknown_fields(&schema, &typo, "", &mut unknown);
        assert_eq!(unknown, [".spec.forse"], "{sample}");
    }
}

#[test]
fn the_generated_schemas_refuse_what_the_api_server_would() {
    let group_schema = schema_of(&crd_json::<FailoverGroup>());
    let cases: [(&str, Value); 6] = [
        ("/spec/timeouts/heartbeat", json!("1 minute")),
        ("/spec/heartbeatInterval", json!("15")),
        ("/spec/workloads/0/kind", json!("DaemonSet")),
        ("/spec/defaultFailoverMode", json!("FAST")),
        ("/spec/initialPrimary", json!("east#1")),
        ("/spec/workloads/1/name", json!("Web_App")),
    ];
    for (pointer, bad) in cases {
        let mut doc = yaml_doc(GROUP_SAMPLE);
        *doc.pointer_mut(pointer).unwrap() = bad.clone();
        assert!(
            !errors(&group_schema, &doc).is_empty(),
            "{pointer} = {bad} was accepted"
        );
    }
    let mut doc = yaml_doc(GROUP_SAMPLE);
    doc["spec"]
        .as_object_mut()
        .unwrap()
        .remove("initialPrimary");
    assert!(
        !errors(&group_schema, &doc).is_empty(),
        "no initialPrimary was accepted"
    );

    let failover_schema = schema_of(&crd_json::<Failover>());
    let mut doc = yaml_doc(FAILOVER_SAMPLE);
    doc["spec"]["failoverGroups"] = json!([]);
    assert!(
        !errors(&failover_schema, &doc).is_empty(),
        "no groups was accepted"
    );
    let mut doc = yaml_doc(FAILOVER_SAMPLE);
    doc["spec"]["failoverMode"] = json!("consistency");
    assert!(
        !errors(&failover_schema, &doc).is_empty(),
        "lower-case mode was accepted"
    );
}

#[test]
fn the_duration_pattern_accepts_the_parsers_forms_and_refuses_its_errors() {
    let schema = json!({"type": "string", "pattern": crd::DURATION_PATTERN});
    for ok in ["15s", "1m", "1m30s", "1.5h", "250ms", "10us", "10µs", "0s"] {
        assert!(errors(&schema, &json!(ok)).is_empty(), "{ok} refused");
        assert!(ok.parse::<GoDuration>().is_ok(), "{ok} does not parse");
    }
    for bad in ["", "15", "s", "1 m", "-5s", "1..5s", "5x", "1m30"] {
        assert!(!errors(&schema, &json!(bad)).is_empty(), "{bad} accepted");
        assert!(bad.parse::<GoDuration>().is_err(), "{bad} parses");
    }
}
