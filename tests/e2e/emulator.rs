//! The emulator launcher itself: it starts, answers, stops, and fails loudly.

use std::path::PathBuf;

use timmybot_tests::aws::Moto;

#[test]
fn a_missing_emulator_fails_with_the_fix() {
    let err = Moto::start_with(PathBuf::from("/nonexistent/python"))
        .err()
        .expect("starting with no Python must fail");
    let msg = err.to_string();
    assert!(msg.contains("could not start the AWS emulator"), "{msg}");
    assert!(
        msg.contains("scripts/dev-setup"),
        "the error names the fix: {msg}"
    );
}

#[test]
fn a_python_without_moto_fails_with_its_log_and_the_fix() {
    // /bin/false stands in for a Python without moto: it exits at once.
    let err = Moto::start_with(PathBuf::from("/bin/false"))
        .err()
        .expect("a launcher that exits must fail");
    let msg = err.to_string();
    assert!(
        msg.contains("did not answer") && msg.contains("exited"),
        "{msg}"
    );
    assert!(msg.contains("scripts/dev-setup"), "{msg}");
}

#[test]
fn the_emulator_starts_answers_and_stops() {
    let moto = Moto::start().expect("moto starts; run scripts/dev-setup if not");
    let addr = moto.addr();
    assert!(std::net::TcpStream::connect(addr).is_ok());
    drop(moto);
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "dropping the handle stops the server"
    );
}
