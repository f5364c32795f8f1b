//! The interactions endpoint's binary; issue #3 builds it.

use std::process::ExitCode;

fn main() -> ExitCode {
    eprintln!("interactions-lambda is not built yet (issue #3); nothing to serve");
    ExitCode::from(2)
}
