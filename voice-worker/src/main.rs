//! The voice worker's binary; issue #4 builds it.

use std::process::ExitCode;

fn main() -> ExitCode {
    eprintln!("voice-worker is not built yet (issue #4); nothing to run");
    ExitCode::from(2)
}
