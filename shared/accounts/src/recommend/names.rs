//! What makes two plays the same song, and the artist name worth looking up: the keys the
//! engine never suggests twice, cleaned of what YouTube adds around a song.

use timmybot_domain::track::TEXT_MAX;

use super::Seed;

/// The name to look a seed's artist up by: its artist without YouTube's channel decorations
/// ("AdeleVEVO", "Adele - Topic"), else the "Artist - " a YouTube title often starts with.
pub(super) fn lookup_artist(seed: &Seed) -> Option<String> {
    let from_artist = seed.artist.as_deref().and_then(clean_text).map(|a| {
        let a = strip_suffix_ci(&a, " - topic").unwrap_or(&a);
        let a = match strip_suffix_ci(a, "vevo") {
            Some(rest) if !rest.trim().is_empty() => rest,
            _ => a,
        };
        a.trim().to_owned()
    });
    from_artist.filter(|a| !a.is_empty()).or_else(|| {
        let title = clean_text(&seed.title)?;
        let (artist, rest) = title.split_once(" - ")?;
        (!artist.trim().is_empty() && !rest.trim().is_empty()).then(|| artist.trim().to_owned())
    })
}

fn strip_suffix_ci<'a>(s: &'a str, suffix: &str) -> Option<&'a str> {
    let cut = s.len().checked_sub(suffix.len())?;
    (s.is_char_boundary(cut) && s[cut..].eq_ignore_ascii_case(suffix)).then(|| &s[..cut])
}

/// The key that says two plays are the same song: `"artist - title"`, lower case, trimmed,
/// spaces collapsed, without what YouTube adds around a song: "(Official Video)"-style
/// suffixes, "feat." credits, "VEVO"/" - Topic" channel names, and the "Artist - " a title
/// repeats. With no artist, a title of the form "Artist - Title" supplies it.
pub fn normalise(artist: &str, title: &str) -> String {
    let (artist, title) = key_parts(artist, title);
    format!("{artist} - {title}")
}

pub(super) fn key_parts(artist: &str, title: &str) -> (String, String) {
    let mut artist = artist_key(artist);
    let mut title = title_key(title);
    if artist.is_empty() {
        if let Some((a, t)) = title.split_once(" - ") {
            if !a.is_empty() && !t.is_empty() {
                let (a, t) = (artist_key(a), t.to_owned());
                (artist, title) = (a, t);
            }
        }
    } else if let Some(t) = title.strip_prefix(&format!("{artist} - ")) {
        if !t.is_empty() {
            title = t.to_owned();
        }
    }
    (artist, title)
}

/// Lower case, one space between words, dashes and quotes of one kind.
pub(super) fn fold(s: &str) -> String {
    let s: String = s
        .chars()
        .map(|c| match c {
            '\u{2010}'..='\u{2015}' | '\u{2212}' => '-',
            '\u{2018}' | '\u{2019}' | '\u{201b}' | '`' | '\u{b4}' => '\'',
            '\u{201c}' | '\u{201d}' => '"',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect();
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

pub(super) fn artist_key(artist: &str) -> String {
    let mut a = cut_featuring(&fold(artist)).to_owned();
    for suffix in [" - topic", "vevo", " official"] {
        if let Some(rest) = a.strip_suffix(suffix) {
            if !rest.trim().is_empty() {
                a = rest.trim_end().to_owned();
            }
        }
    }
    a
}

fn title_key(title: &str) -> String {
    let mut t = fold(title);
    loop {
        let trimmed = t.trim_end().to_owned();
        let stripped = strip_bracketed_noise(&trimmed)
            .or_else(|| strip_separated_noise(&trimmed))
            .unwrap_or_else(|| cut_featuring(&trimmed));
        if stripped.len() == t.len() {
            return t;
        }
        t = stripped.trim_end().to_owned();
    }
}

/// Words that mark a bracketed or separated part of a title as packaging, not the song.
const NOISE: &[&str] = &[
    "official",
    "officiel",
    "oficial",
    "video",
    "audio",
    "lyric",
    "lyrics",
    "visualizer",
    "visualiser",
    "hd",
    "hq",
    "4k",
    "remaster",
    "remastered",
    "explicit",
    "mv",
];
/// Words that may sit beside them ("Official Music Video") without making the part a song.
const FILLER: &[&str] = &["music", "full", "the", "new", "with", "version"];

fn words(s: &str) -> impl Iterator<Item = &str> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
}

/// `"song (official video)"` -> `"song"`; `"song (live)"` stays.
fn strip_bracketed_noise(t: &str) -> Option<&str> {
    let (open, close) = match t.chars().last()? {
        ')' => ('(', ')'),
        ']' => ('[', ']'),
        _ => return None,
    };
    let start = t.rfind(open)?;
    let inner = &t[start + open.len_utf8()..t.len() - close.len_utf8()];
    let first = words(inner).next()?;
    let noisy = matches!(first, "feat" | "ft" | "featuring" | "prod")
        || words(inner).any(|w| NOISE.contains(&w))
        || inner.contains("m/v");
    (noisy && start > 0).then(|| &t[..start])
}

/// `"song - official music video"` / `"song | lyrics"` -> `"song"`: only when every word of the
/// tail is packaging.
fn strip_separated_noise(t: &str) -> Option<&str> {
    [" - ", " | ", " // "].iter().find_map(|sep| {
        let at = t.rfind(sep)?;
        let tail = &t[at + sep.len()..];
        let mut any_noise = false;
        let all = words(tail).all(|w| {
            any_noise |= NOISE.contains(&w);
            NOISE.contains(&w) || FILLER.contains(&w)
        });
        (at > 0 && all && any_noise).then(|| &t[..at])
    })
}

/// `"song feat. someone"` -> `"song"`.
fn cut_featuring(t: &str) -> &str {
    [" feat. ", " feat ", " ft. ", " featuring "]
        .iter()
        .filter_map(|m| t.find(m))
        .min()
        .filter(|at| *at > 0)
        .map_or(t, |at| &t[..at])
}

/// Text from a service, made fit to show: no control characters, one space between words,
/// at most `TEXT_MAX` characters; `None` when nothing is left.
pub(crate) fn clean_text(s: &str) -> Option<String> {
    let s: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(TEXT_MAX)
        .collect();
    (!s.is_empty()).then_some(s)
}
