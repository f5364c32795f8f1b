//! What a user typed into `/play`, classified. Pure: no lookup, no fetch.

use timmybot_domain::LibraryRef;
use url::Url;

use super::spotify::SpotifyLink;

/// Longest query accepted; Discord caps option strings at 6000, we need far less.
pub const QUERY_MAX: usize = 500;

/// Hosts whose pages yt-dlp plays. Any other http(s) URL is fetched directly, behind the
/// SSRF guard: yt-dlp's generic extractor would otherwise fetch any address it is given.
const YTDL_HOSTS: &[(&str, Kind)] = &[
    ("youtube.com", Kind::Youtube),
    ("youtu.be", Kind::Youtube),
    ("soundcloud.com", Kind::Soundcloud),
    ("bandcamp.com", Kind::Other),
    ("vimeo.com", Kind::Other),
    ("mixcloud.com", Kind::Other),
    ("twitch.tv", Kind::Other),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Youtube,
    Soundcloud,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    /// A page yt-dlp understands.
    Page {
        url: Url,
        kind: Kind,
    },
    /// `ytsearch1:`, `scsearch1:` or plain words (a YouTube search).
    Search {
        spec: String,
        kind: Kind,
    },
    Spotify(SpotifyLink),
    /// Any other http(s) URL: direct audio.
    Http(String),
    /// `local:NAME`, a file in the music directory.
    Local(String),
    /// `library:…`, a list in the requester's own library.
    Library(LibraryRef),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("tell me what to play: a link or some words to search for")]
    Empty,
    #[error("that query is too long (the limit is {QUERY_MAX} characters)")]
    TooLong,
    #[error("that Spotify link is not a track, album or playlist")]
    BadSpotify,
    #[error("that isn't a list in your library")]
    BadLibrary,
}

impl Query {
    pub fn parse(input: &str) -> Result<Self, QueryError> {
        let text = input.trim();
        if text.is_empty() {
            return Err(QueryError::Empty);
        }
        if text.len() > QUERY_MAX {
            return Err(QueryError::TooLong);
        }
        if text.starts_with(timmybot_domain::library::PREFIX) {
            return LibraryRef::parse(text)
                .map(Query::Library)
                .map_err(|_| QueryError::BadLibrary);
        }
        if let Some(name) = text.strip_prefix("local:") {
            return Ok(Query::Local(name.trim().to_owned()));
        }
        for (prefix, kind) in [("ytsearch", Kind::Youtube), ("scsearch", Kind::Soundcloud)] {
            if let Some(rest) = text.strip_prefix(prefix) {
                // `ytsearch1:words`; we always take one result.
                if let Some((_, words)) = rest.split_once(':') {
                    let words = words.trim();
                    if words.is_empty() {
                        return Err(QueryError::Empty);
                    }
                    return Ok(Query::Search {
                        spec: format!("{prefix}1:{words}"),
                        kind,
                    });
                }
            }
        }
        if text.starts_with("spotify:") {
            return SpotifyLink::parse(text)
                .map(Query::Spotify)
                .ok_or(QueryError::BadSpotify);
        }
        let looks_like_url = text.contains("://");
        if !looks_like_url {
            return Ok(Query::Search {
                spec: format!("ytsearch1:{text}"),
                kind: Kind::Youtube,
            });
        }
        let Ok(url) = Url::parse(text) else {
            // Not a URL after all; the SSRF guard gives the precise reason.
            return Ok(Query::Http(text.to_owned()));
        };
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        if host == "open.spotify.com" {
            return SpotifyLink::parse(text)
                .map(Query::Spotify)
                .ok_or(QueryError::BadSpotify);
        }
        let https_page = matches!(url.scheme(), "https" | "http");
        if https_page {
            if let Some((_, kind)) = YTDL_HOSTS
                .iter()
                .find(|(h, _)| host == *h || host.ends_with(&format!(".{h}")))
            {
                return Ok(Query::Page { url, kind: *kind });
            }
        }
        Ok(Query::Http(text.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_what_users_type() {
        assert!(matches!(
            Query::parse("https://www.youtube.com/watch?v=abc").unwrap(),
            Query::Page {
                kind: Kind::Youtube,
                ..
            }
        ));
        assert!(matches!(
            Query::parse("https://youtu.be/abc").unwrap(),
            Query::Page {
                kind: Kind::Youtube,
                ..
            }
        ));
        assert!(matches!(
            Query::parse("https://soundcloud.com/a/b").unwrap(),
            Query::Page {
                kind: Kind::Soundcloud,
                ..
            }
        ));
        assert_eq!(
            Query::parse("  never gonna give you up ").unwrap(),
            Query::Search {
                spec: "ytsearch1:never gonna give you up".into(),
                kind: Kind::Youtube
            }
        );
        assert_eq!(
            Query::parse("scsearch5: lofi").unwrap(),
            Query::Search {
                spec: "scsearch1:lofi".into(),
                kind: Kind::Soundcloud
            }
        );
        assert_eq!(
            Query::parse("https://cdn.example.com/song.mp3").unwrap(),
            Query::Http("https://cdn.example.com/song.mp3".into())
        );
        assert_eq!(
            Query::parse("local: tone.wav").unwrap(),
            Query::Local("tone.wav".into())
        );
        assert!(matches!(
            Query::parse("https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC").unwrap(),
            Query::Spotify(_)
        ));
        assert_eq!(
            Query::parse("https://open.spotify.com/artist/x"),
            Err(QueryError::BadSpotify)
        );
        assert_eq!(Query::parse("   "), Err(QueryError::Empty));
        assert_eq!(
            Query::parse(&"a".repeat(QUERY_MAX + 1)),
            Err(QueryError::TooLong)
        );
    }

    #[test]
    fn a_lookalike_host_is_not_youtube() {
        assert!(matches!(
            Query::parse("https://youtube.com.evil.example/watch").unwrap(),
            Query::Http(_)
        ));
        assert!(matches!(
            Query::parse("https://notyoutube.com/watch").unwrap(),
            Query::Http(_)
        ));
    }
}
