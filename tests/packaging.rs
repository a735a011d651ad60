//! project.env is the one place that says where the project lives: the repository, the
//! controller image and the release download pattern. Everything that names them agrees with
//! it: Cargo.toml, the krew manifest, deploy/, the README and `kubectl failover version`.

use std::path::Path;
use std::process::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn read(path: &str) -> String {
    std::fs::read_to_string(Path::new(ROOT).join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn project(key: &str) -> String {
    read("project.env")
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")).map(str::to_string))
        .unwrap_or_else(|| panic!("project.env lacks {key}"))
}

fn tag() -> String {
    format!("v{}", env!("CARGO_PKG_VERSION"))
}

#[test]
fn cargo_toml_names_the_repository_of_project_env() {
    assert_eq!(env!("CARGO_PKG_REPOSITORY"), project("KFO_REPOSITORY"));
}

#[test]
fn the_krew_manifest_points_at_the_release_downloads_of_project_env() {
    let text = read("plugin-manifest/failover.yaml");
    let m: serde_json::Value = serde_saphyr::from_str(&text).expect("manifest");
    assert_eq!(m["spec"]["homepage"], project("KFO_REPOSITORY"));
    let platforms = m["spec"]["platforms"].as_array().expect("platforms");
    for p in platforms {
        let (os, arch) = (
            p["selector"]["matchLabels"]["os"].as_str().unwrap(),
            p["selector"]["matchLabels"]["arch"].as_str().unwrap(),
        );
        let archive = format!("kubectl-failover-{}-{os}-{arch}.tar.gz", tag());
        let want = project("KFO_RELEASE_DOWNLOAD")
            .replace("{tag}", &tag())
            .replace("{archive}", &archive);
        assert_eq!(p["uri"], want.as_str());
    }
}

#[test]
fn deploy_runs_the_image_of_project_env_at_this_version() {
    let text = read("deploy/base/kustomization.yaml");
    let k: serde_json::Value = serde_saphyr::from_str(&text).expect("kustomization");
    let image = &k["images"][0];
    assert_eq!(image["name"], "kubectl-failover");
    assert_eq!(image["newName"], project("KFO_IMAGE"));
    assert_eq!(image["newTag"], tag());
    assert!(
        read("deploy/base/deployment.yaml").contains("image: kubectl-failover"),
        "the Deployment names the image kustomize replaces"
    );
}

#[test]
fn the_readme_and_deploy_guide_name_the_repository_and_the_image() {
    for doc in ["README.md", "deploy/README.md"] {
        let text = read(doc);
        assert!(text.contains(&project("KFO_REPOSITORY")), "{doc}");
        assert!(text.contains(&project("KFO_IMAGE")), "{doc}");
        assert!(!text.contains("registry.example.com"), "{doc}");
    }
}

#[test]
fn version_prints_the_repository_and_the_image_of_this_version() {
    let out = Command::new(env!("CARGO_BIN_EXE_kubectl-failover"))
        .args(["version", "-o", "json"])
        .output()
        .expect("run version");
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["repository"], project("KFO_REPOSITORY"));
    assert_eq!(v["image"], format!("{}:{}", project("KFO_IMAGE"), tag()));
}

#[test]
fn the_license_cargo_toml_names_is_shipped() {
    assert!(read("Cargo.toml").contains("license = \"Apache-2.0\""));
    let license = read("LICENSE");
    assert!(license.contains("Apache License") && license.contains("Version 2.0, January 2004"));
}
