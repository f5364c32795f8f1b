//! `timmybot register-commands` against the fake Discord REST API.

use std::process::Command;

use timmybot_discord::spec as commands;
use timmybot_fake_discord::rest::FakeRest;

fn register(proxy: &str, args: &[&str], token: Option<&str>) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_timmybot"));
    cmd.env_clear()
        .env("DISCORD_APPLICATION_ID", "1100000000000000001")
        .env("DISCORD_REST_PROXY", proxy)
        .arg("register-commands")
        .args(args);
    if let Some(t) = token {
        cmd.env("DISCORD_TOKEN", t);
    }
    cmd.output().expect("run timmybot")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registers_every_spec_globally_or_in_one_guild() {
    let rest = FakeRest::start().await;
    let proxy = rest.addr.to_string();
    let names: Vec<String> = commands::specs()
        .unwrap()
        .into_iter()
        .map(|c| c.name)
        .collect();

    let p = proxy.clone();
    let global = tokio::task::spawn_blocking(move || register(&p, &[], Some("secret-token")))
        .await
        .unwrap();
    assert!(
        global.status.success(),
        "{}",
        String::from_utf8_lossy(&global.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&global.stdout),
        format!("registered {} commands globally\n", names.len())
    );
    let p = proxy.clone();
    let guild = tokio::task::spawn_blocking(move || {
        register(&p, &["--guild", "700001"], Some("secret-token"))
    })
    .await
    .unwrap();
    assert!(
        guild.status.success(),
        "{}",
        String::from_utf8_lossy(&guild.stderr)
    );

    let calls = rest.fake.calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(
        calls[0].path,
        "/api/v10/applications/1100000000000000001/commands"
    );
    assert_eq!(
        calls[1].path,
        "/api/v10/applications/1100000000000000001/guilds/700001/commands"
    );
    for call in &calls {
        assert_eq!(call.method, "PUT");
        assert!(call.bot_auth);
        let sent: Vec<&str> = call
            .body
            .as_ref()
            .unwrap()
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(sent, names, "exactly the specs, in order");
    }
    let play = &calls[0].body.as_ref().unwrap()[0];
    assert_eq!(play["options"][0]["autocomplete"], true);
    assert_eq!(
        play["contexts"],
        serde_json::json!([0]),
        "music commands are guild-only"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_token_names_what_to_set() {
    let rest = FakeRest::start().await;
    let proxy = rest.addr.to_string();
    let out = tokio::task::spawn_blocking(move || register(&proxy, &[], None))
        .await
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("DISCORD_TOKEN is not set"));
    assert!(rest.fake.calls().is_empty());
}
