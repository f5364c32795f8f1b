//! The SSRF guard, from the outside: every private, loopback, link-local or ULA target is
//! refused — as a literal, behind a name, or behind a redirect — and nothing is fetched.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;

use songbird::input::codecs::{get_codec_registry, get_probe};
use timmybot_domain::{Clock, SystemClock};
use timmybot_domain::{Platform, Track, TrackKey, UserId};
use timmybot_fake_discord::audio::wav_tone;
use timmybot_sources::ssrf::{Lookup, SystemLookup};
use timmybot_sources::{Guard, SourceError, Sources, SourcesConfig, SsrfError};
use timmybot_store::sqlite::SqliteStore;
use timmybot_tests::http_files::FileServer;

/// A resolver with fixed answers, falling back to the system's.
struct FixedLookup(HashMap<&'static str, Vec<IpAddr>>);

impl Lookup for FixedLookup {
    fn lookup<'a>(
        &'a self,
        host: &'a str,
    ) -> Pin<Box<dyn Future<Output = io::Result<Vec<IpAddr>>> + Send + 'a>> {
        match self.0.get(host) {
            Some(ips) => Box::pin(std::future::ready(Ok(ips.clone()))),
            None => SystemLookup.lookup(host),
        }
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn guard() -> Guard {
    Guard::new(Arc::new(FixedLookup(HashMap::from([
        ("evil.example", vec![ip("10.1.2.3")]),
        ("metadata.example", vec![ip("169.254.169.254")]),
        ("ula.example", vec![ip("fd00::1")]),
        ("rebind.example", vec![ip("93.184.216.34"), ip("127.0.0.1")]),
        ("public.example", vec![ip("93.184.216.34")]),
    ]))))
}

async fn sources(guard: Guard) -> Sources {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = SqliteStore::open(":memory:", clock.clone()).await.unwrap();
    Sources::new(
        SourcesConfig {
            ytdl_program: "yt-dlp".into(),
            ytdl_args: vec![],
            guard,
            spotify: None,
            linked: None,
            music_dir: None,
        },
        Arc::new(store),
        clock,
    )
    .unwrap()
}

fn refused(r: Result<Vec<Track>, SourceError>) -> SsrfError {
    match r {
        Err(SourceError::Ssrf(e)) => e,
        other => panic!("expected an SSRF refusal, got {other:?}"),
    }
}

fn user() -> UserId {
    UserId::new(1).unwrap()
}

#[tokio::test]
async fn private_literals_are_refused_and_nothing_is_fetched() {
    let v4 = FileServer::builder()
        .file("a.wav", wav_tone(440.0, 0.1, 0.5), "audio/wav")
        .serve()
        .await;
    let v6 = FileServer::builder()
        .file("a.wav", wav_tone(440.0, 0.1, 0.5), "audio/wav")
        .serve_on("[::1]:0")
        .await;
    let src = sources(guard()).await;
    let urls = [
        v4.url("a.wav"),
        v6.url("a.wav"),
        "http://10.0.0.1/a.wav".to_owned(),
        "http://172.16.5.4/a.wav".to_owned(),
        "http://172.31.255.254/a.wav".to_owned(),
        "http://192.168.1.10/a.wav".to_owned(),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "http://[fd00::1]/a.wav".to_owned(),
        "http://[fd12:3456::9]/a.wav".to_owned(),
        "http://[::ffff:127.0.0.1]:80/a.wav".to_owned(),
        "http://0x7f000001/a.wav".to_owned(),
    ];
    for url in urls {
        let e = refused(src.resolve(&url, user()).await);
        assert!(matches!(e, SsrfError::Refused { .. }), "{url}: {e}");
    }
    assert_eq!(v4.hits(), 0, "nothing fetched from 127.0.0.1");
    assert_eq!(v6.hits(), 0, "nothing fetched from [::1]");
}

#[tokio::test]
async fn names_that_resolve_to_private_addresses_are_refused() {
    let server = FileServer::builder()
        .file("a.wav", wav_tone(440.0, 0.1, 0.5), "audio/wav")
        .serve()
        .await;
    let src = sources(guard()).await;
    for url in [
        "http://evil.example/a.wav".to_owned(),
        "https://metadata.example/latest/".to_owned(),
        "http://ula.example/a.wav".to_owned(),
        "http://rebind.example/a.wav".to_owned(),
        format!("http://localhost:{}/a.wav", server.addr.port()),
    ] {
        let e = refused(src.resolve(&url, user()).await);
        assert!(matches!(e, SsrfError::Refused { .. }), "{url}: {e}");
    }
    assert_eq!(server.hits(), 0);
}

#[tokio::test]
async fn schemes_other_than_http_are_refused() {
    let src = sources(guard()).await;
    for url in [
        "file:///etc/passwd",
        "ftp://public.example/a.mp3",
        "gopher://x/",
    ] {
        let e = refused(src.resolve(url, user()).await);
        assert!(matches!(e, SsrfError::Scheme(_)), "{url}: {e}");
    }
}

/// A track stored with a bad source (say, written before a fix) is checked again at play.
#[tokio::test]
async fn a_stored_track_is_checked_again_when_opened() {
    let src = sources(guard()).await;
    let key = TrackKey::new(Platform::Http, "x").unwrap();
    let track = Track::new(key, "x", "http://169.254.169.254/latest/", user()).unwrap();
    assert!(matches!(
        src.open(&track).await,
        Err(SourceError::Ssrf(SsrfError::Refused { .. }))
    ));
}

/// A public-looking server (loopback, trusted for this test) redirects to private targets.
/// The redirect is refused before any request reaches them, through the guard's own client
/// and through the songbird input the player would use.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_to_private_addresses_are_refused() {
    let inner = FileServer::builder()
        .file("secret", b"internal".to_vec(), "text/plain")
        .serve_on("[::1]:0")
        .await;
    let outer = FileServer::builder()
        .redirect("to-loopback.wav", &inner.url("secret"))
        .redirect(
            "to-metadata.wav",
            "http://169.254.169.254/latest/meta-data/",
        )
        .redirect("to-evil.wav", "http://evil.example/a.wav")
        .redirect("to-ula.wav", "http://[fd00::7]/a.wav")
        .file("ok.wav", wav_tone(440.0, 0.2, 0.5), "audio/wav")
        .serve()
        .await;
    let g = guard().trusting([ip("127.0.0.1")]);
    let client = g.client().unwrap();
    let ok = client.get(outer.url("ok.wav")).send().await.unwrap();
    assert!(
        ok.status().is_success(),
        "the trusted server itself is reachable"
    );

    let src = sources(g.clone()).await;
    for path in [
        "to-loopback.wav",
        "to-metadata.wav",
        "to-evil.wav",
        "to-ula.wav",
    ] {
        let url = outer.url(path);
        let err = client.get(&url).send().await.unwrap_err();
        let ssrf = find_ssrf(&err);
        assert!(
            matches!(ssrf, Some(SsrfError::Refused { .. })),
            "{path}: expected a refusal, got {err:?}"
        );

        // The same URL queued and played: songbird's HTTP input fails to open it.
        let tracks = src.resolve(&url, user()).await.unwrap();
        let input = src.open(&tracks[0]).await.unwrap();
        let readied = input
            .make_playable_async(get_codec_registry(), get_probe())
            .await;
        assert!(
            readied.is_err(),
            "{path}: the redirected stream must not open"
        );
    }
    assert_eq!(inner.hits(), 0, "nothing fetched from the private target");
}

/// The guard's refusal, wherever reqwest nested it.
fn find_ssrf<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a SsrfError> {
    let mut cur = Some(err);
    while let Some(e) = cur {
        if let Some(s) = e.downcast_ref::<SsrfError>() {
            return Some(s);
        }
        cur = e.source();
    }
    None
}
