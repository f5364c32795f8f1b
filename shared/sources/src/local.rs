//! Local files, for the embedded bot: only from the music folder, never outside it, and with
//! their length read from the container's header.

use std::path::{Path, PathBuf};

use crate::SourceError;

/// File extensions played from the music directory.
const LOCAL_EXTENSIONS: &[&str] = &["mp3", "wav", "flac", "ogg", "opus", "m4a", "aac", "webm"];

/// A local file's duration from its container header (frames ÷ rate), without decoding.
pub(crate) fn file_duration_ms(path: &Path) -> Option<u64> {
    use symphonia::core::formats::FormatOptions;
    use symphonia::core::io::MediaSourceStream;
    use symphonia::core::meta::MetadataOptions;
    use symphonia::core::probe::Hint;
    let file = std::fs::File::open(path).ok()?;
    let stream = MediaSourceStream::new(Box::new(file), Default::default());
    let mut hint = Hint::new();
    if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
        hint.with_extension(ext);
    }
    let probed = symphonia::default::get_probe()
        .format(
            &hint,
            stream,
            &FormatOptions::default(),
            &MetadataOptions::default(),
        )
        .ok()?;
    let params = &probed.format.default_track()?.codec_params;
    let frames = params.n_frames?;
    let rate = u64::from(params.sample_rate?);
    (rate > 0).then(|| frames * 1000 / rate)
}

pub(crate) fn local_file(dir: &Path, name: &str) -> Result<PathBuf, SourceError> {
    let candidate = dir.join(name);
    let real = candidate
        .canonicalize()
        .map_err(|_| SourceError::NoSuchFile)?;
    let allowed_ext = real
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| LOCAL_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()));
    if !real.starts_with(dir) || !real.is_file() || !allowed_ext {
        return Err(SourceError::NoSuchFile);
    }
    Ok(real)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_file_knows_its_duration_from_its_header() {
        let dir = tempfile::tempdir().unwrap();
        // 1.5 s of 16-bit mono silence at 8 kHz.
        let frames: u32 = 12_000;
        let mut wav = Vec::new();
        wav.extend_from_slice(b"RIFF");
        wav.extend_from_slice(&(36 + frames * 2).to_le_bytes());
        wav.extend_from_slice(b"WAVEfmt ");
        for v in [16u32, 0x0001_0001, 8_000, 16_000, 0x0010_0002] {
            wav.extend_from_slice(&v.to_le_bytes());
        }
        wav.extend_from_slice(b"data");
        wav.extend_from_slice(&(frames * 2).to_le_bytes());
        wav.resize(wav.len() + frames as usize * 2, 0);
        let good = dir.path().join("tone.wav");
        std::fs::write(&good, wav).unwrap();
        assert_eq!(file_duration_ms(&good), Some(1_500));
        let bad = dir.path().join("bad.wav");
        std::fs::write(&bad, b"not audio").unwrap();
        assert_eq!(file_duration_ms(&bad), None);
    }

    #[test]
    fn local_files_stay_inside_the_music_dir() {
        let root = tempfile::tempdir().unwrap();
        let music = root.path().join("music");
        std::fs::create_dir(&music).unwrap();
        std::fs::write(music.join("a.wav"), b"x").unwrap();
        std::fs::write(music.join("notes.txt"), b"x").unwrap();
        std::fs::write(root.path().join("secret.wav"), b"x").unwrap();
        let dir = music.canonicalize().unwrap();
        assert!(local_file(&dir, "a.wav").is_ok());
        for bad in [
            "../secret.wav",
            "notes.txt",
            "missing.wav",
            "/etc/passwd",
            "",
        ] {
            assert!(
                matches!(local_file(&dir, bad), Err(SourceError::NoSuchFile)),
                "{bad} must be refused"
            );
        }
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(root.path().join("secret.wav"), music.join("link.wav"))
                .unwrap();
            assert!(matches!(
                local_file(&dir, "link.wav"),
                Err(SourceError::NoSuchFile)
            ));
        }
    }
}
