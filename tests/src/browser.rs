//! Browser tests: runs a Node script from `tests/browser/` that drives Debian's Chromium with
//! playwright-core (`tests/browser/harness.mjs`), as `node <script>` with its settings in the
//! environment. `scripts/dev-setup` installs Chromium, Node and playwright-core.
//!
//! A script prints JSON lines on stdout ([`json_lines`] parses them) and exits non-zero when
//! it fails; [`run`] then panics with everything it printed. Screenshots go to
//! [`screenshot_dir`], under the target dir, so they outlive the test.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

/// How long a script may run before it is killed (Chromium and all).
pub const TIMEOUT: Duration = Duration::from_secs(180);

/// What to tell someone whose machine lacks a piece.
const FIX: &str = "run scripts/dev-setup (it installs Debian's chromium and playwright-core)";

/// `tests/browser/`: the scripts, the harness and their `node_modules`.
pub fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("browser")
}

/// The absolute path of the script `tests/browser/<name>`.
pub fn script_path(name: &str) -> PathBuf {
    browser_dir().join(name)
}

/// The Chromium the harness starts: `$CHROMIUM`, else Debian's `/usr/bin/chromium`.
pub fn chromium_path() -> PathBuf {
    std::env::var_os("CHROMIUM")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

/// The workspace's target dir: `$CARGO_TARGET_DIR` (a relative one is taken from the
/// workspace root), else the one this test binary was built into (the nearest folder above
/// it holding cargo's `CACHEDIR.TAG`), else `<workspace>/target`.
pub fn target_dir() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate sits in the workspace")
        .to_path_buf();
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR").filter(|d| !d.is_empty()) {
        return workspace.join(dir);
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| {
            exe.ancestors()
                .find(|d| d.join("CACHEDIR.TAG").is_file())
                .map(Path::to_path_buf)
        })
        .unwrap_or_else(|| workspace.join("target"))
}

/// A test's artifacts folder, `<target dir>/test-artifacts/<test>`, emptied and created: pass
/// it to a script as `SCREENSHOT_DIR`. Emptied so a screenshot found there is this run's.
pub fn screenshot_dir(test: &str) -> PathBuf {
    let dir = target_dir().join("test-artifacts").join(test);
    match std::fs::remove_dir_all(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => panic!("emptying {}: {e}", dir.display()),
    }
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
    dir
}

/// Panics, saying what is missing and how to get it, unless Node runs, playwright-core is in
/// `tests/browser/node_modules` and Chromium is where the harness will look.
pub fn check_installed() {
    let mut missing = Vec::new();
    match std::process::Command::new("node").arg("--version").output() {
        Ok(out) if out.status.success() => {
            let version = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            let major: Option<u32> = version
                .trim_start_matches('v')
                .split('.')
                .next()
                .and_then(|m| m.parse().ok());
            if major.is_none_or(|m| m < 18) {
                missing.push(format!("Node.js 18 or later (`node` is {version})"));
            }
        }
        Ok(out) => missing.push(format!(
            "Node.js (`node --version` failed: {})",
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Err(e) => missing.push(format!("Node.js (`node` does not run: {e})")),
    }
    let playwright = browser_dir().join("node_modules/playwright-core/package.json");
    if !playwright.is_file() {
        missing.push(format!(
            "playwright-core (no {})",
            playwright.parent().unwrap_or(&playwright).display()
        ));
    }
    let chromium = chromium_path();
    if !chromium.is_file() {
        missing.push(format!(
            "Chromium (no {}; $CHROMIUM overrides the path)",
            chromium.display()
        ));
    }
    assert!(
        missing.is_empty(),
        "the browser tests need {}; {FIX}",
        missing.join(", ")
    );
}

/// Runs `node <script>` in `tests/browser/` with `env` added to this process's environment
/// (pass `SCREENSHOT_DIR` there, say from [`screenshot_dir`]) and returns its stdout. Checks
/// first that everything is installed ([`check_installed`]). Panics with the script's stdout
/// and stderr if it exits non-zero, and kills it (Chromium too) after [`TIMEOUT`].
pub async fn run<K, V>(script: &Path, env: &[(K, V)]) -> String
where
    K: AsRef<OsStr>,
    V: AsRef<OsStr>,
{
    check_installed();
    assert!(
        script.is_file(),
        "no browser script at {}",
        script.display()
    );
    let mut command = tokio::process::Command::new("node");
    command
        .arg(script)
        .current_dir(browser_dir())
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    // Its own process group, so a timeout kills Chromium with it; and killed by the kernel if
    // the thread that started it ends (as aws.rs does for moto), so an aborted run leaves no
    // node behind (Chromium quits when its pipe to node closes).
    #[cfg(unix)]
    command.process_group(0);
    #[cfg(target_os = "linux")]
    // SAFETY: prctl is async-signal-safe and touches only the child's own settings.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    let child = command
        .spawn()
        .unwrap_or_else(|e| panic!("starting node {}: {e}", script.display()));
    let pid = child.id().expect("a child just spawned has a pid");
    let output = match tokio::time::timeout(TIMEOUT, child.wait_with_output()).await {
        Ok(output) => output.unwrap_or_else(|e| panic!("running node {}: {e}", script.display())),
        Err(_) => {
            // SAFETY: kill(2) on the process group this function started; no memory involved.
            #[cfg(unix)]
            unsafe {
                libc::kill(-(pid as libc::pid_t), libc::SIGKILL);
            }
            panic!(
                "browser script {} ran longer than {TIMEOUT:?} and was killed",
                script.display()
            );
        }
    };
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "browser script {} failed ({}).\n--- stdout ---\n{}\n--- stderr ---\n{}",
        script.display(),
        output.status,
        stdout.trim_end(),
        stderr.trim_end(),
    );
    stdout
}

/// The JSON values among a script's stdout lines (the harness's `emit`); other lines are
/// skipped.
pub fn json_lines(stdout: &str) -> Vec<serde_json::Value> {
    stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l.trim()).ok())
        .collect()
}
