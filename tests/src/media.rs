//! Test media made in Rust: an Ogg Opus file of a tone at a chosen bitrate, as YouTube serves
//! its audio (Opus, 20 ms frames, about 130–160 kb/s), for the bitrate tests and benches.

use ogg::writing::{PacketWriteEndInfo, PacketWriter};
use opus2::{Application, Bitrate, Channels, Encoder};

const RATE: u32 = 48_000;
/// 20 ms of stereo at 48 kHz.
const FRAME: usize = 960;

/// `secs` of a stereo `freq_hz` tone (with a little noise, so the encoder spends its bits, as
/// on music) encoded as Ogg Opus at `bitrate_bps`, constant bitrate.
pub fn ogg_opus_tone(freq_hz: f32, secs: f32, bitrate_bps: i32) -> Vec<u8> {
    let mut encoder =
        Encoder::new(RATE, Channels::Stereo, Application::Audio).expect("a libopus encoder");
    encoder
        .set_bitrate(Bitrate::Bits(bitrate_bps))
        .expect("the bitrate is in libopus's range");
    encoder.set_vbr(false).expect("constant bitrate");
    let serial = 0x7174_6d62;
    let mut out = PacketWriter::new(Vec::new());
    // RFC 7845: the identification header, then the comment header, each on its own page.
    let pre_skip: u16 = 312;
    let mut head = b"OpusHead".to_vec();
    head.push(1);
    head.push(2);
    head.extend_from_slice(&pre_skip.to_le_bytes());
    head.extend_from_slice(&RATE.to_le_bytes());
    head.extend_from_slice(&0i16.to_le_bytes());
    head.push(0);
    out.write_packet(head, serial, PacketWriteEndInfo::EndPage, 0)
        .expect("write to memory");
    let vendor = b"timmybot-tests";
    let mut tags = b"OpusTags".to_vec();
    tags.extend_from_slice(&(vendor.len() as u32).to_le_bytes());
    tags.extend_from_slice(vendor);
    tags.extend_from_slice(&0u32.to_le_bytes());
    out.write_packet(tags, serial, PacketWriteEndInfo::EndPage, 0)
        .expect("write to memory");

    let frames = (secs * RATE as f32) as usize / FRAME;
    let mut noise: u32 = 0x1234_5678;
    let mut pcm = vec![0f32; FRAME * 2];
    for f in 0..frames {
        for i in 0..FRAME {
            let t = (f * FRAME + i) as f32 / RATE as f32;
            // xorshift: cheap, repeatable noise.
            noise ^= noise << 13;
            noise ^= noise >> 17;
            noise ^= noise << 5;
            let n = (noise as f32 / u32::MAX as f32 - 0.5) * 0.1;
            let s = 0.4 * (2.0 * std::f32::consts::PI * freq_hz * t).sin() + n;
            pcm[2 * i] = s;
            pcm[2 * i + 1] = s;
        }
        let packet = encoder
            .encode_vec_float(&pcm, 4_000)
            .expect("libopus encodes the frame");
        let end = if f + 1 == frames {
            PacketWriteEndInfo::EndStream
        } else {
            PacketWriteEndInfo::NormalPacket
        };
        let granule = u64::from(pre_skip) + ((f + 1) * FRAME) as u64;
        out.write_packet(packet, serial, end, granule)
            .expect("write to memory");
    }
    out.into_inner()
}
