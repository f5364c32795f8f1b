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

    // Both changes are in the audit log, newest first, as from the command line.
    let audit = timmybot(envs, &["audit"]);
    assert!(audit.status.success(), "{}", stderr(&audit));
    let lines: Vec<String> = stdout(&audit).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[0].contains("allowlist remove 81384788765712384\tby 42\tvia the command line"),
        "{lines:?}"
    );
    assert!(
        lines[1].contains("allowlist add 81384788765712384") && lines[1].ends_with("friends"),
        "{lines:?}"
    );
    assert_eq!(
        stdout(&timmybot(envs, &["allowlist", "requests"])),
        "no guild is waiting for a decision\n"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_waiting_request_is_listed_and_adding_the_guild_answers_it() {
    use std::sync::Arc;
    use timmybot_domain::{AccessRequest, GuildId, SystemClock, UserId};
    use timmybot_store::AccessStore;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tb.db");
    let store = timmybot_store::sqlite::SqliteStore::open(&path, Arc::new(SystemClock))
        .await
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let guild = GuildId::new(81_384_788_765_712_384).unwrap();
    let request = AccessRequest::new(
        guild,
        "Night Owls",
        UserId::new(9).unwrap(),
        None,
        "game nights",
        "12",
        now,
    )
    .unwrap();
    assert!(store.request_access(&request).await.unwrap());
    drop(store);
    let envs = [
        ("STORE", format!("sqlite:{}", path.display())),
        ("BOT_OWNER_IDS", "42".into()),
    ];
    let envs: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let listed = tokio::task::block_in_place(|| timmybot(&envs, &["allowlist", "requests"]));
    let text = stdout(&listed);
    assert!(
        text.starts_with("81384788765712384\tNight Owls\tasked by 9 at 20")
            && text.contains("for 12 listener(s)\tgame nights"),
        "{text}"
    );
    let added =
        tokio::task::block_in_place(|| timmybot(&envs, &["allowlist", "add", "81384788765712384"]));
    assert!(added.status.success(), "{}", stderr(&added));
    let after = tokio::task::block_in_place(|| timmybot(&envs, &["allowlist", "requests"]));
    assert_eq!(stdout(&after), "no guild is waiting for a decision\n");
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
