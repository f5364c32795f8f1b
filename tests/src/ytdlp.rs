//! A stand-in yt-dlp for the whole chain: it answers `-j` for a YouTube watch URL whose id
//! starts `t<freq>` (say `t440a`) and for any search with a tone of that frequency (a search
//! gets 660 Hz; a five-result search, five of them), served over HTTP, so the fake voice
//! server hears which track played.

use std::path::{Path, PathBuf};

use timmybot_fake_discord::audio::wav_tone;

use crate::http_files::FileServer;

/// The tones it knows, and how long each plays.
pub const FREQS: [u32; 3] = [440, 660, 880];
pub const SECS: f32 = 20.0;
/// What a search answers with.
pub const SEARCH_FREQ: u32 = 660;
/// What a five-result search (`/search`) answers with, in order: (video id, tone).
pub const SEARCH_RESULTS: [(&str, u32); 5] = [
    ("t660", 660),
    ("t880", 880),
    ("t440", 440),
    ("t440b", 440),
    ("t880b", 880),
];

pub struct Ytdlp {
    pub program: PathBuf,
    pub files: FileServer,
    /// Every argument line it was run with, one per run.
    log: PathBuf,
}

impl Ytdlp {
    pub async fn start(dir: &Path) -> Self {
        let mut files = FileServer::builder();
        for f in FREQS {
            files = files.file(
                &format!("tone-{f}.wav"),
                wav_tone(f as f32, SECS, 0.4),
                "audio/wav",
            );
        }
        let files = files.serve().await;
        let program = dir.join("yt-dlp");
        let log = dir.join("yt-dlp.log");
        let entry = |f: u32, page: &str| {
            format!(
                r#"{{"url":"{}","webpage_url":"{page}","title":"Tone {f}","uploader":"Tones","duration":{SECS:.1}}}"#,
                files.url(&format!("tone-{f}.wav"))
            )
        };
        let mut cases = String::new();
        for f in FREQS {
            cases.push_str(&format!(
                "  *v=t{f}*) printf '%s\\n' '{}' ;;\n",
                entry(f, &format!("https://www.youtube.com/watch?v=t{f}"))
            ));
        }
        let five: Vec<String> = SEARCH_RESULTS
            .iter()
            .map(|(id, f)| {
                format!(
                    "'{}'",
                    entry(*f, &format!("https://www.youtube.com/watch?v={id}"))
                )
            })
            .collect();
        cases.push_str(&format!(
            "  *ytsearch5:*) printf '%s\\n' {} ;;\n",
            five.join(" ")
        ));
        let body = format!(
            "#!/bin/sh\necho \"$*\" >> '{log}'\ncase \"$*\" in\n{cases}  *search*) printf '%s\\n' '{search}' ;;\n  *) echo 'ERROR: Unsupported URL' >&2; exit 1 ;;\nesac\n",
            log = log.display(),
            search = entry(
                SEARCH_FREQ,
                &format!("https://www.youtube.com/watch?v=t{SEARCH_FREQ}")
            ),
        );
        std::fs::write(&program, body).expect("write the yt-dlp stand-in");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755))
                .expect("make the yt-dlp stand-in executable");
        }
        Self {
            program,
            files,
            log,
        }
    }

    /// The argument lines of every run so far.
    pub fn runs(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }
}
