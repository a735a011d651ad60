//! The key material one control plane needs, made with the `openssl` command: a CA, the API
//! server's serving certificate for 127.0.0.1 signed by it, and the service-account signing key
//! pair (so TokenRequest issues real, verifiable ServiceAccount tokens).

use std::path::{Path, PathBuf};
use std::process::Command;

/// Files written by [`make`].
pub struct Certs {
    /// CA certificate (PEM): what clients trust.
    pub ca: PathBuf,
    /// The API server's certificate and key.
    pub server_cert: PathBuf,
    /// See [`Certs::server_cert`].
    pub server_key: PathBuf,
    /// Service-account signing key (private) and its public half.
    pub sa_key: PathBuf,
    /// See [`Certs::sa_key`].
    pub sa_pub: PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) -> Result<(), String> {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(|e| format!("run openssl {args:?}: {e}; install Debian's openssl package"))?;
    if !out.status.success() {
        return Err(format!(
            "openssl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}

/// Writes a fresh CA, serving certificate and service-account key pair into `dir`.
pub fn make(dir: &Path) -> Result<Certs, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
    let ext = dir.join("server.ext");
    std::fs::write(
        &ext,
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n\
         keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )
    .map_err(|e| format!("write {}: {e}", ext.display()))?;
    let steps: [&[&str]; 6] = [
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            "ca.key",
        ],
        &[
            "req",
            "-x509",
            "-new",
            "-key",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "7",
            "-subj",
            "/CN=kubectl-failover-test-ca",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            "server.key",
        ],
        &[
            "req",
            "-new",
            "-key",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=kube-apiserver",
        ],
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "7",
            "-extfile",
            "server.ext",
        ],
        &["genrsa", "-out", "sa.key", "2048"],
    ];
    for args in steps {
        openssl(dir, args)?;
    }
    openssl(dir, &["rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub"])?;
    Ok(Certs {
        ca: dir.join("ca.crt"),
        server_cert: dir.join("server.crt"),
        server_key: dir.join("server.key"),
        sa_key: dir.join("sa.key"),
        sa_pub: dir.join("sa.pub"),
    })
}
