//! What the worker runs: yt-dlp (and its age), a JavaScript runtime for it, libopus.

use std::process::Command;
use std::time::SystemTime;

use timmybot_config::names::env;
use timmybot_config::Source;

use super::{Report, TOOLS};

/// YouTube breaks yt-dlp releases older than about this.
const YTDLP_MAX_AGE_DAYS: i64 = 60;

pub(super) fn tools(r: &mut Report, src: &Source) {
    let ytdlp = src.get(env::YTDLP_PATH).unwrap_or_else(|| "yt-dlp".into());
    match Command::new(&ytdlp).arg("--version").output() {
        Ok(out) if out.status.success() => {
            let version = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            match ytdlp_age_days(&version) {
                Some(age) if age <= YTDLP_MAX_AGE_DAYS => {
                    r.pass(TOOLS, "yt-dlp", format!("{version} ({age} days old)"))
                }
                Some(age) => r.fail(
                    TOOLS,
                    "yt-dlp",
                    format!("{version} is {age} days old"),
                    "YouTube breaks old versions: `pip install -U 'yt-dlp[default]'` (the \
                     worker's image pins YTDLP_VERSION in the Dockerfile)",
                ),
                None => r.info(
                    TOOLS,
                    "yt-dlp",
                    format!("version {version:?} carries no date"),
                ),
            }
        }
        Ok(out) => r.fail(
            TOOLS,
            "yt-dlp",
            format!(
                "{ytdlp} --version failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            "reinstall it: `pip install -U 'yt-dlp[default]'`",
        ),
        Err(e) => r.fail(
            TOOLS,
            "yt-dlp",
            format!("{ytdlp}: {e}"),
            "YouTube and SoundCloud play through yt-dlp: `pip install 'yt-dlp[default]'`, or \
             set YTDLP_PATH",
        ),
    }
    let runtime = ["deno", "node", "bun"].into_iter().find(|p| {
        Command::new(p)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    match runtime {
        Some(p) => r.pass(
            TOOLS,
            "JavaScript runtime",
            format!("{p}, for yt-dlp's YouTube challenges"),
        ),
        None => r.fail(
            TOOLS,
            "JavaScript runtime",
            "none of deno, node or bun is on PATH",
            "yt-dlp needs one to play YouTube: install deno (`pip install deno`, as the \
             worker's image does)",
        ),
    }
    r.pass(TOOLS, "libopus", opus2::version().to_owned());
}

/// Days since a yt-dlp version's date (`2026.08.19`, perhaps with a `.123456` build).
fn ytdlp_age_days(version: &str) -> Option<i64> {
    let mut parts = version.split('.');
    let (y, m, d) = (
        parts.next()?.parse::<i64>().ok()?,
        parts.next()?.parse::<i64>().ok()?,
        parts.next()?.parse::<i64>().ok()?,
    );
    if !(2000..=9999).contains(&y) || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let released = days_from_civil(y, m, d);
    let today = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .ok()?
        .as_secs() as i64
        / 86_400;
    Some(today - released)
}

/// Days since 1970-01-01 (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_days_match_the_calendar() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(2026, 12, 1), 20_788);
        assert!(ytdlp_age_days("2000.01.01").unwrap() > 9_000);
        assert_eq!(ytdlp_age_days("nightly"), None);
        assert_eq!(ytdlp_age_days("2026.13.01"), None);
    }
}
