//! One component of a control plane as a child process: its own process group (so a kill
//! reaches anything it started), output to a log file, killed with the whole group when the
//! handle drops (a failing assertion or a panic unwinds through it), and SIGKILLed by the kernel
//! if the test process dies without unwinding (PR_SET_PDEATHSIG).

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};

type SpawnRequest = (Command, mpsc::Sender<std::io::Result<Child>>);

/// Spawns `cmd` from one thread that lives as long as the test process. PR_SET_PDEATHSIG fires
/// when the *thread* that forked the child exits, and tokio's blocking-pool threads (which
/// `block_in_place` turns workers into) exit after a short idle time: a child forked there would
/// be killed in the middle of its test.
pub fn spawn_from_a_lasting_thread(cmd: Command) -> std::io::Result<Child> {
    static SPAWNER: OnceLock<Mutex<mpsc::Sender<SpawnRequest>>> = OnceLock::new();
    let sender = SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<SpawnRequest>();
        std::thread::Builder::new()
            .name("child-spawner".into())
            .spawn(move || {
                for (mut cmd, reply) in rx {
                    let _ = reply.send(cmd.spawn());
                }
            })
            .expect("start the child-spawner thread");
        Mutex::new(tx)
    });
    let (reply, answer) = mpsc::channel();
    sender
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .send((cmd, reply))
        .map_err(|_| std::io::Error::other("the child-spawner thread is gone"))?;
    answer
        .recv()
        .map_err(|_| std::io::Error::other("the child-spawner thread is gone"))?
}

/// A running component.
pub struct Component {
    /// `etcd`, `kube-apiserver`, ...
    pub name: String,
    /// Its log.
    pub log: PathBuf,
    child: Child,
}

impl Component {
    /// Starts `bin` with `args`, output appended to `log`.
    pub fn spawn(name: &str, bin: &Path, args: &[String], log: &Path) -> Result<Component, String> {
        Self::spawn_with(name, bin, args, None, log)
    }

    /// Like [`Component::spawn`], with exactly the environment `env` (nothing inherited).
    pub fn spawn_with_env(
        name: &str,
        bin: &Path,
        args: &[String],
        env: &[(String, String)],
        log: &Path,
    ) -> Result<Component, String> {
        Self::spawn_with(name, bin, args, Some(env), log)
    }

    fn spawn_with(
        name: &str,
        bin: &Path,
        args: &[String],
        env: Option<&[(String, String)]>,
        log: &Path,
    ) -> Result<Component, String> {
        let out = File::create(log).map_err(|e| format!("create {}: {e}", log.display()))?;
        let err = out
            .try_clone()
            .map_err(|e| format!("clone {}: {e}", log.display()))?;
        let mut cmd = Command::new(bin);
        if let Some(env) = env {
            cmd.env_clear().envs(env.iter().map(|(k, v)| (k, v)));
        }
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0);
        // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = spawn_from_a_lasting_thread(cmd)
            .map_err(|e| format!("start {}: {e}", bin.display()))?;
        Ok(Component {
            name: name.to_string(),
            log: log.to_path_buf(),
            child,
        })
    }

    /// The process id (also its process group id).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// How it exited, if it has.
    pub fn exited(&mut self) -> Option<String> {
        self.child
            .try_wait()
            .ok()
            .flatten()
            .map(|status| format!("{status}"))
    }

    /// The last `n` lines of its log.
    pub fn tail(&self, n: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// Sends `signal` to its whole process group.
    pub fn signal(&self, signal: libc::c_int) {
        // SAFETY: kill(2) on our own child's process group (process_group(0) made pgid == pid).
        unsafe {
            libc::kill(-(self.child.id() as libc::pid_t), signal);
        }
    }

    /// SIGKILL to the group, then reaps it.
    pub fn kill(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            self.signal(libc::SIGKILL);
        }
        let _ = self.child.wait();
    }
}

impl Drop for Component {
    fn drop(&mut self) {
        self.kill();
    }
}
