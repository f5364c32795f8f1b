//! The `timmybot` binary's suites, in one test binary: each runs the real binary.

mod allowlist;
mod dashboard;
mod demo;
mod doctor;
mod register;
mod serve;
mod support;

/// `timmybot --help` says what the bot is and what each command does for a user.
#[test]
fn help_speaks_of_the_bot() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_timmybot"))
        .arg("--help")
        .output()
        .expect("run timmybot");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        text.starts_with("TimmyBot, a self-hosted Discord music bot"),
        "{text}"
    );
    for command in ["serve", "demo", "allowlist", "register-commands"] {
        assert!(text.contains(command), "{command} is missing: {text}");
    }
    assert!(!text.contains("issues land"), "{text}");
}
