//! `/search`, end to end with the yt-dlp stand-in: the deferred reply becomes a menu of the
//! top five, picking one queues it and the voice server hears it, and a pick from an expired
//! menu is refused.

use timmybot_tests::chain::guild;
use timmybot_tests::library::spawn_library;
use timmybot_tests::ytdlp::SEARCH_RESULTS;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_shows_the_top_five_and_a_pick_is_heard() {
    let g = guild(45);
    let mut lib = spawn_library(std::slice::from_ref(&g)).await;
    lib.chain.join(&g);

    let (res, token) = lib.command(&g, "search", &[("query", "tones")]).await;
    assert_eq!(res["type"], 5, "deferred while the worker looks: {res}");
    let reply = lib.chain.reply(&token, |r| !r.components.is_empty()).await;
    assert_eq!(
        reply.content,
        "🔎 Results for **tones**: pick one within 2 minutes to queue it."
    );
    let menu = &reply.components[0]["components"][0];
    let custom_id = menu["custom_id"].as_str().unwrap().to_owned();
    assert!(custom_id.starts_with("search:"), "{menu}");
    let options = menu["options"].as_array().unwrap();
    let values: Vec<&str> = options
        .iter()
        .map(|o| o["value"].as_str().unwrap())
        .collect();
    let expected: Vec<String> = SEARCH_RESULTS
        .iter()
        .map(|(id, _)| format!("https://www.youtube.com/watch?v={id}"))
        .collect();
    assert_eq!(values, expected);
    assert_eq!(options[1]["label"], "Tone 880");
    assert_eq!(options[1]["description"], "Tones · 0:20");
    assert!(
        lib.ytdlp
            .runs()
            .iter()
            .any(|r| r.contains("ytsearch5:tones")),
        "{:?}",
        lib.ytdlp.runs()
    );

    // Picking the second result queues it like /play.
    let (res, picked) = lib.pick(&g, &custom_id, values[1]).await;
    assert_eq!(res["type"], 5, "{res}");
    lib.chain.hears(&g, 880.0, "the picked result").await;
    let said = lib.chain.reply(&picked, |r| r.edits > 0).await;
    assert!(
        said.content.contains("Now playing **Tone 880**"),
        "{said:?}"
    );

    // A menu whose two minutes are over: refused, nothing queued.
    let (res, _) = lib.pick(&g, "search:1", values[0]).await;
    assert_eq!(
        res["data"]["content"],
        "This search has expired: run `/search` again."
    );
    // A link is not a search.
    let (res, token) = lib
        .command(
            &g,
            "search",
            &[("query", "https://www.youtube.com/watch?v=t440")],
        )
        .await;
    assert_eq!(res["type"], 5);
    let reply = lib.chain.reply(&token, |r| r.edits > 0).await;
    assert_eq!(
        reply.content,
        "❌ That is a link, not a search: `/play` it instead."
    );
    let state = lib.chain.state(&g).await;
    assert!(
        state.queue.upcoming().is_empty(),
        "only the pick was queued"
    );
    lib.chain.stop_worker().await;
}
