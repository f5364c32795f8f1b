//! Audio for tests: tones to play, and what a voice server does with what it receives
//! (decrypt the RTP, decode the Opus, measure the loudness and the pitch).

use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes256Gcm, KeyInit};
use chacha20poly1305::XChaCha20Poly1305;

pub const SAMPLE_RATE: u32 = 48_000;
/// Samples per channel in one 20 ms frame.
pub const FRAME: usize = 960;
/// The fixed RTP header: version, payload type, sequence, timestamp, SSRC.
pub const RTP_HEADER: usize = 12;
const TAG: usize = 16;
const NONCE_SUFFIX: usize = 4;

/// A 16-bit stereo PCM WAV file of a sine tone.
pub fn wav_tone(freq_hz: f32, secs: f32, amplitude: f32) -> Vec<u8> {
    let frames = (SAMPLE_RATE as f32 * secs) as usize;
    let mut samples = Vec::with_capacity(frames * 2);
    for i in 0..frames {
        let t = i as f32 / SAMPLE_RATE as f32;
        let v = amplitude * (2.0 * std::f32::consts::PI * freq_hz * t).sin();
        samples.extend_from_slice(&[v, v]);
    }
    wav_from_pcm(&samples, 2, SAMPLE_RATE)
}

/// A 16-bit PCM WAV file at `rate` Hz of interleaved f32 samples (clamped to ±1), e.g. to listen
/// to what a fake voice server heard.
pub fn wav_from_pcm(samples: &[f32], channels: u16, rate: u32) -> Vec<u8> {
    let data_len = (samples.len() * 2) as u32;
    let mut out = Vec::with_capacity(44 + samples.len() * 2);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&channels.to_le_bytes());
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&(rate * u32::from(channels) * 2).to_le_bytes());
    out.extend_from_slice(&(channels * 2).to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for s in samples {
        let v = (s.clamp(-1.0, 1.0) * 32767.0) as i16;
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VoiceCipher {
    /// `aead_aes256_gcm_rtpsize`
    Aes256Gcm,
    /// `aead_xchacha20_poly1305_rtpsize`
    XChaCha20,
}

impl VoiceCipher {
    pub const ALL: [VoiceCipher; 2] = [VoiceCipher::Aes256Gcm, VoiceCipher::XChaCha20];

    /// The mode's name in the voice gateway's Ready, Select Protocol and Session Description.
    pub fn mode_name(self) -> &'static str {
        match self {
            VoiceCipher::Aes256Gcm => "aead_aes256_gcm_rtpsize",
            VoiceCipher::XChaCha20 => "aead_xchacha20_poly1305_rtpsize",
        }
    }

    pub fn from_mode_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.mode_name() == name)
    }
}

/// Opens one `*_rtpsize` packet and returns its Opus payload. The RTP header (with any CSRCs
/// and, if the X bit is set, the 4-byte extension header) is the associated data; what follows
/// is encrypted — the extension's body, then the payload — followed by the 16-byte tag and a
/// 4-byte nonce counter. The decrypted extension body is dropped.
pub fn decrypt_rtp(cipher: VoiceCipher, key: &[u8; 32], packet: &[u8]) -> Option<Vec<u8>> {
    if packet.len() < RTP_HEADER || packet[0] >> 6 != 2 {
        return None;
    }
    let csrcs = usize::from(packet[0] & 0x0f);
    let has_extension = packet[0] & 0x10 != 0;
    let mut header_len = RTP_HEADER + 4 * csrcs;
    let mut extension_body = 0;
    if has_extension {
        let ext = packet.get(header_len..header_len + 4)?;
        extension_body = 4 * usize::from(u16::from_be_bytes([ext[2], ext[3]]));
        header_len += 4;
    }
    if packet.len() < header_len + extension_body + TAG + NONCE_SUFFIX {
        return None;
    }
    let (header, rest) = packet.split_at(header_len);
    let (body, nonce_bytes) = rest.split_at(rest.len() - NONCE_SUFFIX);
    let (ciphertext, tag) = body.split_at(body.len() - TAG);
    let mut buf = ciphertext.to_vec();
    match cipher {
        VoiceCipher::Aes256Gcm => {
            let mut nonce = [0u8; 12];
            nonce[..4].copy_from_slice(nonce_bytes);
            Aes256Gcm::new(key.into())
                .decrypt_in_place_detached(&nonce.into(), header, &mut buf, tag.into())
                .ok()?;
        }
        VoiceCipher::XChaCha20 => {
            let mut nonce = [0u8; 24];
            nonce[..4].copy_from_slice(nonce_bytes);
            XChaCha20Poly1305::new(key.into())
                .decrypt_in_place_detached(&nonce.into(), header, &mut buf, tag.into())
                .ok()?;
        }
    }
    buf.drain(..extension_body);
    Some(buf)
}

/// Seals `payload` as one `*_rtpsize` packet after a plain 12-byte RTP `header`, with the
/// 4-byte nonce counter `nonce`: what a voice client sends, for tests that speak to a voice
/// server by hand. [`decrypt_rtp`] opens it.
pub fn encrypt_rtp(
    cipher: VoiceCipher,
    key: &[u8; 32],
    header: &[u8; RTP_HEADER],
    payload: &[u8],
    nonce: u32,
) -> Option<Vec<u8>> {
    let mut body = payload.to_vec();
    let counter = nonce.to_be_bytes();
    let tag = match cipher {
        VoiceCipher::Aes256Gcm => {
            let mut n = [0u8; 12];
            n[..4].copy_from_slice(&counter);
            Aes256Gcm::new(key.into())
                .encrypt_in_place_detached(&n.into(), header, &mut body)
                .ok()?
                .to_vec()
        }
        VoiceCipher::XChaCha20 => {
            let mut n = [0u8; 24];
            n[..4].copy_from_slice(&counter);
            XChaCha20Poly1305::new(key.into())
                .encrypt_in_place_detached(&n.into(), header, &mut body)
                .ok()?
                .to_vec()
        }
    };
    Some([header.as_slice(), &body, &tag, &counter].concat())
}

/// Discord's "silence" Opus frame, sent five times when audio stops.
pub const SILENT_FRAME: [u8; 3] = [0xf8, 0xff, 0xfe];

/// Decodes Opus frames to interleaved stereo f32 PCM.
pub struct OpusDecoder(opus2::Decoder);

impl OpusDecoder {
    pub fn new() -> Self {
        Self(
            opus2::Decoder::new(SAMPLE_RATE, opus2::Channels::Stereo)
                .expect("48 kHz stereo is a valid Opus decoder"),
        )
    }

    /// One frame's samples, or `None` for a frame Opus refuses.
    pub fn decode(&mut self, opus: &[u8]) -> Option<Vec<f32>> {
        let mut pcm = vec![0f32; FRAME * 2 * 6];
        let n = self.0.decode_float(opus, &mut pcm, false).ok()?;
        pcm.truncate(n * 2);
        Some(pcm)
    }
}

impl Default for OpusDecoder {
    fn default() -> Self {
        Self::new()
    }
}

/// Root mean square of interleaved samples.
pub fn rms(samples: &[f32]) -> f32 {
    if samples.is_empty() {
        return 0.0;
    }
    (samples.iter().map(|s| s * s).sum::<f32>() / samples.len() as f32).sqrt()
}

/// The strongest frequency in 20–4000 Hz, to the nearest 5 Hz, of interleaved stereo PCM
/// (left channel). A Goertzel scan: plenty for telling test tones apart.
pub fn dominant_frequency(samples: &[f32]) -> f32 {
    let left: Vec<f32> = samples.iter().step_by(2).copied().collect();
    let n = left.len().min(SAMPLE_RATE as usize);
    let left = &left[..n];
    let mut best = (0.0f32, 0.0f32);
    let mut f = 20.0f32;
    while f <= 4000.0 {
        let w = 2.0 * std::f32::consts::PI * f / SAMPLE_RATE as f32;
        let coeff = 2.0 * w.cos();
        let (mut s1, mut s2) = (0.0f32, 0.0f32);
        for &x in left {
            let s0 = x + coeff * s1 - s2;
            s2 = s1;
            s1 = s0;
        }
        let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
        if power > best.1 {
            best = (f, power);
        }
        f += 5.0;
    }
    best.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_analysis_finds_a_generated_tone() {
        let wav = wav_tone(440.0, 0.5, 0.5);
        let pcm: Vec<f32> = wav[44..]
            .chunks_exact(2)
            .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0)
            .collect();
        assert_eq!(dominant_frequency(&pcm), 440.0);
        let r = rms(&pcm);
        assert!((r - 0.5 / 2f32.sqrt()).abs() < 0.01, "rms {r}");
    }

    /// A packet as Discord's clients send them: a CSRC and a header extension, whose 4-byte
    /// header is authenticated in the clear while its body is encrypted with the payload.
    #[test]
    fn decrypt_rtp_skips_csrcs_and_the_encrypted_extension_body() {
        let key = [9u8; 32];
        let opus = [0xfc, 0x01, 0x02, 0x03];
        let mut clear = vec![0x91, 120, 0, 7, 0, 0, 0, 9, 0, 0, 0, 42]; // V=2, X, CC=1
        clear.extend_from_slice(&[0, 0, 0, 5]); // CSRC
        clear.extend_from_slice(&[0xbe, 0xde, 0, 1]); // extension header: one word
        let mut body = vec![0x10, 0xaa, 0, 0]; // extension body
        body.extend_from_slice(&opus);
        let nonce_counter = 77u32.to_be_bytes();

        for cipher in VoiceCipher::ALL {
            let mut enc = body.clone();
            let tag = match cipher {
                VoiceCipher::Aes256Gcm => {
                    let mut nonce = [0u8; 12];
                    nonce[..4].copy_from_slice(&nonce_counter);
                    Aes256Gcm::new(&key.into())
                        .encrypt_in_place_detached(&nonce.into(), &clear, &mut enc)
                        .expect("encrypts")
                        .to_vec()
                }
                VoiceCipher::XChaCha20 => {
                    let mut nonce = [0u8; 24];
                    nonce[..4].copy_from_slice(&nonce_counter);
                    XChaCha20Poly1305::new(&key.into())
                        .encrypt_in_place_detached(&nonce.into(), &clear, &mut enc)
                        .expect("encrypts")
                        .to_vec()
                }
            };
            let packet = [clear.clone(), enc, tag, nonce_counter.to_vec()].concat();
            assert_eq!(
                decrypt_rtp(cipher, &key, &packet).as_deref(),
                Some(&opus[..]),
                "{cipher:?}"
            );
            assert_eq!(decrypt_rtp(cipher, &[8u8; 32], &packet), None, "wrong key");
        }
    }
}
