//! Linked accounts against the stand-ins, on both stores: Google's device flow (pending,
//! `slow_down`, approved, and each refusal), Spotify's PKCE with `state` checked (replayed,
//! expired, foreign, missing), refresh (kept, rotated, refused), unlink and revoke, key
//! rotation, and a search of every log line for every secret the flows handled.

use std::io::Write;
use std::sync::{Arc, Mutex};

use secrecy::{ExposeSecret, SecretString};
use timmybot_accounts::link::{AccountError, DeviceOutcome, Linker, Redirect};
use timmybot_accounts::oauth::{GoogleOAuth, SpotifyOAuth};
use timmybot_accounts::{Accounts, Vault};
use timmybot_config::{AccountsSettings, Source};
use timmybot_domain::{Clock, LibraryRef, Platform, UserId};
use timmybot_tests::backends::{dynamo_store, sqlite_store, StoreUnderTest};
use timmybot_tests::standins::{google, spotify, DeviceAnswer, SpTrack, Standins, Video};

const KEY: &str = "1111111111111111111111111111111111111111111111111111111111111111";
const NEW_KEY: &str = "2222222222222222222222222222222222222222222222222222222222222222";
const REDIRECT: &str = "http://127.0.0.1:8888/callback";

fn user(n: u64) -> UserId {
    UserId::new(n).expect("a user id")
}

fn vault(current: &str, older: Option<&str>) -> Arc<Vault> {
    let older = older.map(|o| SecretString::from(o.to_owned()));
    Arc::new(Vault::new(&SecretString::from(current.to_owned()), older.as_ref()).expect("a vault"))
}

fn linker(s: &Standins, store: &StoreUnderTest, vault: Arc<Vault>) -> Linker {
    let google = GoogleOAuth::new(
        google::CLIENT_ID,
        SecretString::from(google::CLIENT_SECRET.to_owned()),
        &s.google.url(),
    )
    .expect("the Google client");
    let spotify = SpotifyOAuth::new(spotify::CLIENT_ID, &s.spotify.accounts_url())
        .expect("the Spotify client");
    Linker::new(
        store.store.clone(),
        vault,
        store.clock.clone(),
        Some(google),
        Some((spotify, Redirect::Loopback(REDIRECT.into()))),
    )
}

/// What Spotify's authorize page does when the user presses Agree: the redirect's `code`
/// and `state`.
async fn approve(url: &url::Url) -> (String, String) {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client");
    let res = http
        .get(url.as_str())
        .send()
        .await
        .expect("the authorize page");
    assert_eq!(res.status(), 302, "Spotify redirects back");
    let to = res
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("a Location");
    let to = url::Url::parse(to).expect("a URL");
    assert!(to.as_str().starts_with(REDIRECT), "{to}");
    let get = |k: &str| {
        to.query_pairs()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    (get("code"), get("state"))
}

async fn both(test: impl AsyncFn(StoreUnderTest)) {
    test(sqlite_store().await).await;
    test(dynamo_store().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn youtube_links_through_pending_then_slow_down_then_approval_on_both_stores() {
    both(async |store| {
        let s = Standins::start().await;
        let l = linker(&s, &store, vault(KEY, None));
        let u = user(11);
        assert_eq!(
            l.youtube_check(u).await.unwrap(),
            None,
            "nothing pending yet"
        );
        let view = l.youtube_start(u).await.unwrap();
        assert_eq!(view.verification_url, google::VERIFICATION_URL);
        assert_eq!(s.google.device_scopes(), [google::SCOPE_YOUTUBE_READONLY]);
        // A second /auth-youtube shows the same code rather than starting over.
        assert_eq!(l.youtube_start(u).await.unwrap(), view);
        assert_eq!(s.google.devices().len(), 1);
        s.google.script(vec![
            DeviceAnswer::Pending,
            DeviceAnswer::SlowDown,
            DeviceAnswer::Approve,
        ]);
        let before = s.google.token_requests();
        assert!(matches!(
            l.youtube_check(u).await.unwrap(),
            Some(DeviceOutcome::Pending(_))
        ));
        assert_eq!(
            s.google.token_requests(),
            before + 1,
            "one request per press"
        );
        assert!(matches!(
            l.youtube_check(u).await.unwrap(),
            Some(DeviceOutcome::SlowDown { interval_s, .. }) if interval_s == google::INTERVAL + 5
        ));
        assert_eq!(
            l.youtube_check(u).await.unwrap(),
            Some(DeviceOutcome::Linked)
        );
        assert_eq!(s.google.token_requests(), before + 3);
        let status = l.status(u).await.unwrap();
        assert_eq!(status.pending, None, "the pending link is used up");
        assert_eq!(status.linked.len(), 1);
        assert_eq!(status.linked[0].platform, Platform::Youtube);
        assert!(!status.linked[0].needs_relink);
        let token = l.access_token(u, Platform::Youtube).await.unwrap();
        assert!(s.google.is_valid(token.expose_secret()));
        // Unlinking deletes the tokens and revokes the grant at Google.
        assert!(l.unlink(u, Platform::Youtube).await.unwrap());
        assert!(l.status(u).await.unwrap().linked.is_empty());
        assert_eq!(s.google.revoked().len(), 1);
        assert!(!l.unlink(u, Platform::Youtube).await.unwrap());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_device_refusal_ends_the_pending_link_with_its_own_outcome() {
    let store = sqlite_store().await;
    let s = Standins::start().await;
    let l = linker(&s, &store, vault(KEY, None));
    for (n, answer, want) in [
        (21, DeviceAnswer::Denied, DeviceOutcome::Denied),
        (22, DeviceAnswer::Expired, DeviceOutcome::Expired),
        (23, DeviceAnswer::InvalidGrant, DeviceOutcome::InvalidGrant),
    ] {
        let u = user(n);
        l.youtube_start(u).await.unwrap();
        s.google.script(vec![answer]);
        assert_eq!(l.youtube_check(u).await.unwrap(), Some(want));
        assert_eq!(
            l.status(u).await.unwrap().pending,
            None,
            "{answer:?} clears it"
        );
        assert!(l.status(u).await.unwrap().linked.is_empty());
    }
    // A code whose 30 minutes ran out is not even sent.
    let u = user(24);
    l.youtube_start(u).await.unwrap();
    store.clock.advance((google::DEVICE_EXPIRES_IN + 1) * 1000);
    let before = s.google.token_requests();
    assert_eq!(
        l.youtube_check(u).await.unwrap(),
        Some(DeviceOutcome::Expired)
    );
    assert_eq!(s.google.token_requests(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spotify_links_with_pkce_and_refuses_a_replayed_expired_foreign_or_missing_state() {
    both(async |store| {
        let s = Standins::start().await;
        let l = linker(&s, &store, vault(KEY, None));
        let (a, b) = (user(31), user(32));

        // Missing and malformed states never reach Spotify.
        let code = SecretString::from("whatever".to_owned());
        for state in ["", "no-dot", "x.y", &format!("{a}.")] {
            let e = l.spotify_finish(None, &code, state).await.unwrap_err();
            assert!(matches!(e, AccountError::StateRefused(_)), "{state:?}: {e}");
        }
        let (url, redirect) = l.spotify_start(a).await.unwrap();
        assert!(matches!(redirect, Redirect::Loopback(_)));
        let (code, state) = approve(&url).await;
        let auth = &s.spotify.authorizations()[0];
        assert_eq!(auth.code_challenge_method, "S256");
        assert_eq!(auth.scope, spotify::SCOPES);
        assert!(
            state.starts_with(&format!("{a}.")),
            "the state names its user"
        );
        let code = SecretString::from(code);
        // Pasted by someone else: refused, and the link is still waiting for its owner.
        let e = l.spotify_finish(Some(b), &code, &state).await.unwrap_err();
        assert!(e.to_string().contains("someone else"), "{e}");
        // A nonce that does not match: refused.
        let forged = format!("{a}.AAAAAAAAAAAAAAAAAAAAAA");
        let e = l.spotify_finish(None, &code, &forged).await.unwrap_err();
        assert!(matches!(e, AccountError::StateRefused(_)), "{e}");
        assert_eq!(l.spotify_finish(None, &code, &state).await.unwrap(), a);
        let linked = l.status(a).await.unwrap().linked;
        assert_eq!(linked[0].platform, Platform::Spotify);
        assert_eq!(linked[0].scopes.join(" "), spotify::SCOPES);
        // The same state again: used up.
        let e = l.spotify_finish(None, &code, &state).await.unwrap_err();
        assert!(e.to_string().contains("already used"), "{e}");

        // Expired: 10 minutes and a second.
        let (url, _) = l.spotify_start(b).await.unwrap();
        let (code, state) = approve(&url).await;
        store.clock.advance((601) * 1000);
        let e = l
            .spotify_finish(None, &SecretString::from(code), &state)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("expired"), "{e}");
        assert!(l.status(b).await.unwrap().linked.is_empty());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_keeps_or_rotates_the_refresh_token_and_a_dead_one_asks_for_a_new_link() {
    both(async |store| {
        let s = Standins::start().await;
        let l = linker(&s, &store, vault(KEY, None));
        let u = user(41);
        let (url, _) = l.spotify_start(u).await.unwrap();
        let (code, state) = approve(&url).await;
        l.spotify_finish(None, &SecretString::from(code), &state)
            .await
            .unwrap();
        let first = l.access_token(u, Platform::Spotify).await.unwrap();
        let before = s.spotify.token_requests();
        // Fresh: no request.
        l.access_token(u, Platform::Spotify).await.unwrap();
        assert_eq!(s.spotify.token_requests(), before);
        // Within a minute of expiry: refreshed, and the old refresh token kept.
        store
            .clock
            .advance((spotify::ACCESS_EXPIRES_IN - 30) * 1000);
        let second = l.access_token(u, Platform::Spotify).await.unwrap();
        assert_ne!(second.expose_secret(), first.expose_secret());
        assert_eq!(s.spotify.token_requests(), before + 1);
        let refresh_forms: Vec<_> = s
            .spotify
            .forms()
            .into_iter()
            .filter(|f| f.get("grant_type") == Some("refresh_token"))
            .collect();
        let original_refresh = refresh_forms[0].get("refresh_token").unwrap().to_owned();
        // Rotated: the new refresh token is the one used next.
        s.spotify.rotate_refresh(true);
        store.clock.advance((spotify::ACCESS_EXPIRES_IN) * 1000);
        l.access_token(u, Platform::Spotify).await.unwrap();
        s.spotify.rotate_refresh(false);
        store.clock.advance((spotify::ACCESS_EXPIRES_IN) * 1000);
        l.access_token(u, Platform::Spotify).await.unwrap();
        let used: Vec<String> = s
            .spotify
            .forms()
            .into_iter()
            .filter(|f| f.get("grant_type") == Some("refresh_token"))
            .map(|f| f.get("refresh_token").unwrap().to_owned())
            .collect();
        assert_eq!(used[0], original_refresh);
        assert_eq!(used[1], original_refresh, "not rotated: kept");
        assert_ne!(used[2], original_refresh, "rotated: the new one is stored");
        // Spotify's refresh tokens now die after six months: invalid_grant.
        s.spotify.revoke_refresh(&used[2]);
        store.clock.advance((spotify::ACCESS_EXPIRES_IN) * 1000);
        let e = l.access_token(u, Platform::Spotify).await.unwrap_err();
        assert!(matches!(e, AccountError::NeedsRelink(..)), "{e}");
        assert!(e.to_string().contains("/auth-spotify"), "{e}");
        assert!(l.status(u).await.unwrap().linked[0].needs_relink);
        // And next time, without asking Spotify again.
        let before = s.spotify.token_requests();
        assert!(l.access_token(u, Platform::Spotify).await.is_err());
        assert_eq!(s.spotify.token_requests(), before);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_vault_key_takes_over_while_the_old_one_still_opens_and_reseals() {
    let store = sqlite_store().await;
    let s = Standins::start().await;
    let u = user(51);
    let old = linker(&s, &store, vault(KEY, None));
    old.youtube_start(u).await.unwrap();
    s.google.script(vec![DeviceAnswer::Approve]);
    old.youtube_check(u).await.unwrap();
    let sealed_old =
        store.store.load_user(u).await.unwrap().value.linked[&Platform::Youtube].clone();

    // Without the old key the token does not open.
    let lost = linker(&s, &store, vault(NEW_KEY, None));
    assert!(matches!(
        lost.access_token(u, Platform::Youtube).await,
        Err(AccountError::Vault(
            timmybot_accounts::VaultError::UnknownKey(_)
        ))
    ));
    // With it in TOKEN_VAULT_KEYS, it opens and is sealed again under the new key.
    let rotated = linker(&s, &store, vault(NEW_KEY, Some(KEY)));
    let token = rotated.access_token(u, Platform::Youtube).await.unwrap();
    assert!(s.google.is_valid(token.expose_secret()));
    let sealed_new =
        store.store.load_user(u).await.unwrap().value.linked[&Platform::Youtube].clone();
    assert_ne!(sealed_new, sealed_old);
    let only_new = linker(&s, &store, vault(NEW_KEY, None));
    assert!(only_new.access_token(u, Platform::Youtube).await.is_ok());

    // A blob copied onto another user's item does not open there.
    let v = user(52);
    let mut other = store.store.load_user(v).await.unwrap();
    other.value.linked.insert(Platform::Youtube, sealed_new);
    other.value.last_active_ms = store.clock.now_ms();
    store
        .store
        .save_user(&other.value, other.version)
        .await
        .unwrap();
    let moved = only_new.access_token(v, Platform::Youtube).await;
    assert!(
        matches!(
            moved,
            Err(AccountError::Vault(timmybot_accounts::VaultError::Forged))
        ),
        "{moved:?}"
    );
}

/// A writer every log line goes to, for the search below.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Every flow (linking, refreshing, rotating, reading the library, unlinking), with every log line of every crate captured at TRACE, then searched for
/// every token, code and device code the stand-ins handed out, and the verifiers.
#[tokio::test(flavor = "current_thread")]
async fn no_secret_reaches_a_log_line() {
    let captured = Captured::default();
    let sink = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || sink.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let store = sqlite_store().await;
    let s = Standins::start().await;
    s.youtube
        .set_playlists(vec![("PLlogs00001", "Logs", Video::numbered("lg", 3))]);
    s.spotify.set_liked(SpTrack::numbered("lk", 3));
    s.spotify.set_recent(SpTrack::numbered("rc", 2));
    s.spotify.set_top(SpTrack::numbered("tp", 2));
    let mut env: Vec<(&str, String)> = s.env().into_iter().chain(s.credentials()).collect();
    env.push(("token_vault_key", KEY.to_owned()));
    let accounts = Accounts::open(
        &AccountsSettings::read(&Source::from_pairs(env)).unwrap(),
        store.store.clone(),
        store.clock.clone(),
        None,
    )
    .unwrap()
    .unwrap();
    let l = accounts.linker();
    let u = user(61);
    l.youtube_start(u).await.unwrap();
    s.google.script(vec![
        DeviceAnswer::Pending,
        DeviceAnswer::SlowDown,
        DeviceAnswer::Approve,
    ]);
    for _ in 0..3 {
        l.youtube_check(u).await.unwrap();
    }
    store.clock.advance((google::ACCESS_EXPIRES_IN) * 1000);
    l.access_token(u, Platform::Youtube).await.unwrap();
    let (url, _) = l.spotify_start(u).await.unwrap();
    let (code, state) = approve(&url).await;
    let replay = SecretString::from(code.clone());
    l.spotify_finish(None, &SecretString::from(code), &state)
        .await
        .unwrap();
    let _ = l.spotify_finish(None, &replay, &state).await;
    s.spotify.rotate_refresh(true);
    store.clock.advance((spotify::ACCESS_EXPIRES_IN) * 1000);
    l.access_token(u, Platform::Spotify).await.unwrap();
    // The library, read with those tokens.
    accounts
        .playlists(u, Platform::Youtube, None)
        .await
        .unwrap();
    accounts
        .playlists(u, Platform::Spotify, None)
        .await
        .unwrap();
    let yt = LibraryRef::playlist(Platform::Youtube, "PLlogs00001").unwrap();
    assert_eq!(accounts.expand(u, &yt, 50).await.unwrap().tracks.len(), 3);
    let liked = LibraryRef::liked(Platform::Spotify, true).unwrap();
    assert_eq!(
        accounts.expand(u, &liked, 50).await.unwrap().tracks.len(),
        3
    );
    accounts.recently_played(u, 5).await.unwrap();
    accounts.top_tracks(u, 5).await.unwrap();
    l.unlink(u, Platform::Youtube).await.unwrap();
    l.unlink(u, Platform::Spotify).await.unwrap();

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(!logs.is_empty(), "the capture works: something was logged");
    let mut secrets = s.issued_secrets();
    secrets.extend(
        s.spotify
            .forms()
            .iter()
            .filter_map(|f| f.get("code_verifier").map(str::to_owned)),
    );
    secrets.push(state.split_once('.').unwrap().1.to_owned());
    assert!(
        secrets.len() >= 8,
        "the flows handled secrets: {}",
        secrets.len()
    );
    for secret in secrets {
        assert!(
            !logs.contains(&secret),
            "a secret reached the logs:\n{logs}"
        );
    }
}
