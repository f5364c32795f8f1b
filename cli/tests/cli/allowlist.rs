//! `timmybot allowlist` end to end: the real binary against each store.

use std::process::{Command, Output};

use timmybot_tests::aws;

fn timmybot(envs: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_timmybot"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.args(args).output().expect("run timmybot")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn add_list_remove(envs: &[(&str, &str)]) {
    let added = timmybot(
        envs,
        &["allowlist", "add", "81384788765712384", "--note", "friends"],
    );
    assert!(added.status.success(), "{}", stderr(&added));
    assert_eq!(stdout(&added), "allowed guild 81384788765712384\n");

    let listed = timmybot(envs, &["allowlist", "list"]);
    assert!(listed.status.success(), "{}", stderr(&listed));
    let text = stdout(&listed);
    assert!(
        text.starts_with("81384788765712384\tapproved by 42 at 20"),
        "{text}"
    );
    assert!(text.trim_end().ends_with("friends"), "{text}");

    let removed = timmybot(envs, &["allowlist", "remove", "81384788765712384"]);
    assert!(removed.status.success(), "{}", stderr(&removed));
    let again = timmybot(envs, &["allowlist", "remove", "81384788765712384"]);
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("was not on the allowlist"),
        "{}",
        stderr(&again)
    );
    assert_eq!(
        stdout(&timmybot(envs, &["allowlist", "list"])),
        "the allowlist is empty\n"
    );
}

#[test]
fn allowlist_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("tb.db").display());
    add_list_remove(&[("STORE", &store), ("BOT_OWNER_IDS", "42,7")]);
}

#[tokio::test(flavor = "multi_thread")]
async fn allowlist_on_dynamodb() {
    let moto = aws::shared();
    let client = aws_sdk_dynamodb::Client::new(&moto.sdk_config().await);
    let table = aws::unique("cli");
    aws::create_table(&client, &table).await;
    let endpoint = moto.endpoint();
    // `--by` wins over BOT_OWNER_IDS.
    let envs = [
        ("STORE", "dynamodb"),
        ("TABLE_NAME", table.as_str()),
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("BOT_OWNER_IDS", "42"),
    ];
    tokio::task::block_in_place(|| add_list_remove(&envs));
}

#[test]
fn bad_input_fails_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("tb.db").display());
    let bad_id = timmybot(&[("STORE", &store)], &["allowlist", "add", "12x"]);
    assert!(!bad_id.status.success());
    assert!(
        stderr(&bad_id).contains("guild id must be only digits"),
        "{}",
        stderr(&bad_id)
    );

    let no_owner = timmybot(&[("STORE", &store)], &["allowlist", "add", "5"]);
    assert!(!no_owner.status.success());
    assert!(
        stderr(&no_owner).contains("BOT_OWNER_IDS"),
        "{}",
        stderr(&no_owner)
    );

    let bad_store = timmybot(&[("STORE", "dynamodb")], &["allowlist", "list"]);
    assert!(!bad_store.status.success());
    assert!(
        stderr(&bad_store).contains("TABLE_NAME"),
        "{}",
        stderr(&bad_store)
    );
}
