//! What each outgoing voice stream keeps to.

use super::*;

/// What leaves the worker for Discord's voice servers, per stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VoiceBitrate {
    /// Every stream is encoded at this many bits per second, an Opus source that songbird
    /// would pass through untouched included: on AWS the bytes sent are the bill.
    Capped(u32),
    /// An Opus source plays as it comes (YouTube's is ~130–160 kb/s); other sources are
    /// encoded at songbird's default. Where egress is free, this saves the CPU.
    Passthrough,
}

/// Opus's own bounds on a bitrate.
const OPUS_BPS: std::ops::RangeInclusive<u32> = 6_000..=510_000;

impl VoiceBitrate {
    /// The AWS worker's default: Discord's default channel bitrate.
    pub const AWS_DEFAULT: Self = Self::Capped(64_000);

    /// `64k`, `64kbps`, `64000` or `passthrough`.
    pub fn parse(raw: &str) -> Option<Self> {
        let raw = raw.trim().to_ascii_lowercase();
        if raw == "passthrough" {
            return Some(Self::Passthrough);
        }
        let digits = raw.trim_end_matches("bps");
        let bps = match digits.strip_suffix('k') {
            Some(k) => k.parse::<u32>().ok()?.checked_mul(1_000)?,
            None => digits.parse::<u32>().ok()?,
        };
        OPUS_BPS.contains(&bps).then_some(Self::Capped(bps))
    }

    pub(super) fn read(src: &Source) -> Result<Option<Self>, ConfigError> {
        src.get(env::VOICE_BITRATE)
            .map(|raw| {
                Self::parse(&raw).ok_or_else(|| ConfigError::Invalid {
                    var: env::VOICE_BITRATE,
                    what: "a bitrate from 6k to 510k (such as 64k), or passthrough",
                    got: raw.chars().take(32).collect(),
                })
            })
            .transpose()
    }
}
