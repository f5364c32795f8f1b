//! `/previous` and the ⏮ button, end to end: what is heard goes back through what was played,
//! and the played tracks survive in the stored state.

use timmybot_discord::spec::buttons;
use timmybot_tests::chain::{guild, spawn_chain};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn previous_after_a_skip_goes_back_and_the_button_goes_further() {
    let g = guild(40);
    let mut chain = spawn_chain(std::slice::from_ref(&g), "2m").await;
    chain.join(&g);

    // Nothing has played yet: refused at once, nothing sent to the worker.
    let (res, _) = chain.command(&g, "previous", &[], None).await;
    assert_eq!(res["type"], 4, "{res}");
    assert_eq!(
        res["data"]["content"],
        "Nothing has played before this yet."
    );

    chain.play(&g, 440.0).await;
    chain.play(&g, 660.0).await;
    chain.play(&g, 880.0).await;
    chain.hears(&g, 440.0, "the first track").await;
    chain.command(&g, "skip", &[], None).await;
    chain.hears(&g, 660.0, "the second track after /skip").await;
    chain.command(&g, "skip", &[], None).await;
    chain.hears(&g, 880.0, "the third track after /skip").await;

    // Back to the skipped track, then the button goes back to its predecessor.
    let (_, token) = chain.command(&g, "previous", &[], None).await;
    chain.hears(&g, 660.0, "the skipped track again").await;
    chain
        .reply(&token, |r| r.content.contains("⏮ Back to"))
        .await;
    let (res, _) = chain.press(&g, buttons::PREVIOUS).await;
    assert_eq!(res["type"], 6, "the press updates its message: {res}");
    chain
        .hears(&g, 440.0, "the first track, by the ⏮ button")
        .await;

    // The tracks gone back over wait in order, and /skip walks forward through them again.
    let state = chain.state(&g).await;
    let upcoming: Vec<&str> = state
        .queue
        .upcoming()
        .iter()
        .map(|t| t.title.as_str())
        .collect();
    assert_eq!(upcoming.len(), 2, "{upcoming:?}");
    assert!(
        upcoming[0].contains("660") && upcoming[1].contains("880"),
        "{upcoming:?}"
    );
    assert!(
        state.queue.played().is_empty(),
        "{:?}",
        state.queue.played()
    );
    chain.command(&g, "skip", &[], None).await;
    chain
        .hears(&g, 660.0, "forward again after going back")
        .await;
    chain.stop_worker().await;
}
