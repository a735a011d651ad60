//! The krew packaging: scripts/package-krew.sh run for real (on the test binary, so no release
//! build is needed), the manifest it writes checked field by field against what krew requires,
//! and its sha256 checked against the archive it built. The committed manifest is checked too:
//! the same structure, and only real hashes.

use serde_json::Value;
use std::path::Path;
use std::process::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn sha256(path: &Path) -> String {
    let out = Command::new("sha256sum")
        .arg(path)
        .output()
        .expect("sha256sum");
    assert!(out.status.success());
    String::from_utf8(out.stdout).expect("utf-8")[..64].to_string()
}

fn manifest(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).expect("manifest");
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// The fields krew requires, with the values this project gives them.
fn assert_structure(m: &Value) {
    assert_eq!(
        m["apiVersion"],
        "krew.googlecontainertools.github.com/v1alpha2"
    );
    assert_eq!(m["kind"], "Plugin");
    assert_eq!(m["metadata"]["name"], "failover");
    let spec = &m["spec"];
    assert_eq!(spec["version"], format!("v{}", env!("CARGO_PKG_VERSION")));
    assert!(
        spec["homepage"]
            .as_str()
            .expect("homepage")
            .starts_with("https://")
    );
    let short = spec["shortDescription"].as_str().expect("shortDescription");
    assert!(
        !short.is_empty() && short.len() <= 60,
        "krew wants a short one: {short}"
    );
    assert!(spec["description"].as_str().expect("description").len() > 100);
    assert!(
        spec["caveats"]
            .as_str()
            .expect("caveats")
            .contains("AWS credentials")
    );
    let platforms = spec["platforms"].as_array().expect("platforms");
    assert!(!platforms.is_empty());
    for p in platforms {
        let labels = &p["selector"]["matchLabels"];
        let (os, arch) = (
            labels["os"].as_str().unwrap(),
            labels["arch"].as_str().unwrap(),
        );
        let uri = p["uri"].as_str().expect("uri");
        assert!(uri.starts_with("https://"), "{uri}");
        assert!(uri.ends_with(&format!("-{os}-{arch}.tar.gz")), "{uri}");
        let sha = p["sha256"].as_str().expect("sha256");
        assert!(
            sha.len() == 64 && sha.chars().all(|c| c.is_ascii_hexdigit()),
            "{sha}"
        );
        assert!(sha.chars().any(|c| c != '0'), "a placeholder hash: {sha}");
        let bin = p["bin"].as_str().expect("bin");
        assert!(bin.starts_with("kubectl-failover"), "{bin}");
    }
}

#[test]
fn the_packaging_script_builds_an_archive_and_writes_its_hash_into_the_manifest() {
    let tmp = tempdir();
    let dir = tmp.join("manifest");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(
        Path::new(ROOT).join("plugin-manifest/header.yaml"),
        dir.join("header.yaml"),
    )
    .unwrap();
    let run = |out: &Path| {
        let status = Command::new(Path::new(ROOT).join("scripts/package-krew.sh"))
            .args(["--target", "x86_64-unknown-linux-gnu"])
            .args(["--binary", env!("CARGO_BIN_EXE_kubectl-failover")])
            .arg("--out")
            .arg(out)
            .arg("--manifest-dir")
            .arg(&dir)
            .args(["--base-url", "https://example.test/releases/v1"])
            .output()
            .expect("run package-krew.sh");
        assert!(
            status.status.success(),
            "{}",
            String::from_utf8_lossy(&status.stderr)
        );
    };
    run(&tmp.join("a"));
    let name = format!(
        "kubectl-failover-v{}-linux-amd64.tar.gz",
        env!("CARGO_PKG_VERSION")
    );
    let archive = tmp.join("a").join(&name);
    let m = manifest(&dir.join("failover.yaml"));
    assert_structure(&m);
    let p = &m["spec"]["platforms"][0];
    assert_eq!(p["selector"]["matchLabels"]["os"], "linux");
    assert_eq!(p["selector"]["matchLabels"]["arch"], "amd64");
    assert_eq!(p["uri"], format!("https://example.test/releases/v1/{name}"));
    assert_eq!(p["bin"], "kubectl-failover");
    assert_eq!(
        p["sha256"],
        sha256(&archive),
        "the manifest names the archive's hash"
    );

    // The archive holds the binary krew installs, byte for byte, and is reproducible.
    let listing = Command::new("tar")
        .arg("-tzf")
        .arg(&archive)
        .output()
        .unwrap();
    let listing = String::from_utf8(listing.stdout).unwrap();
    assert_eq!(
        listing.lines().collect::<Vec<_>>(),
        ["kubectl-failover", "LICENSE", "README.md"]
    );
    let unpacked = tmp.join("unpacked");
    std::fs::create_dir_all(&unpacked).unwrap();
    let untar = Command::new("tar")
        .arg("-xzf")
        .arg(&archive)
        .arg("-C")
        .arg(&unpacked)
        .status()
        .unwrap();
    assert!(untar.success());
    assert_eq!(
        sha256(&unpacked.join("kubectl-failover")),
        sha256(Path::new(env!("CARGO_BIN_EXE_kubectl-failover")))
    );
    run(&tmp.join("b"));
    assert_eq!(sha256(&tmp.join("b").join(&name)), sha256(&archive));
    std::fs::remove_dir_all(&tmp).ok();
}

#[test]
fn the_committed_manifest_has_krews_structure_and_one_entry_per_platform_file() {
    let dir = Path::new(ROOT).join("plugin-manifest");
    let m = manifest(&dir.join("failover.yaml"));
    assert_structure(&m);
    let mut files: Vec<String> = std::fs::read_dir(dir.join("platforms"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let mut entries: Vec<String> = m["spec"]["platforms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let l = &p["selector"]["matchLabels"];
            format!(
                "{}-{}.yaml",
                l["os"].as_str().unwrap(),
                l["arch"].as_str().unwrap()
            )
        })
        .collect();
    entries.sort();
    assert_eq!(entries, files);
    assert!(files.contains(&"linux-amd64.yaml".to_string()));
}

fn tempdir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("kfo-krew-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
