//! The interactions endpoint's edge: arbitrary headers and bodies into signature
//! verification and twilight-model parsing. Half the inputs carry a valid signature, so
//! arbitrary bodies reach the parser too. Nothing here may panic.
//!
//! RUSTC_BOOTSTRAP=1 cargo fuzz run verify_and_parse -- -max_total_time=600

#![no_main]

use arbitrary::Arbitrary;
use ed25519_dalek::{Signer, SigningKey};
use timmybot_edge::routes::{admit, Rejection};
use timmybot_edge::verify::Verifier;
use libfuzzer_sys::fuzz_target;

const NOW: u64 = 1_767_225_600;

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    sign: bool,
    signature: Option<&'a str>,
    timestamp: Option<&'a str>,
    skew_secs: i16,
    body: &'a [u8],
}

fuzz_target!(|input: Input<'_>| {
    let key = SigningKey::from_bytes(&[42; 32]);
    let verifier = Verifier::from_hex(&hex::encode(key.verifying_key().as_bytes())).unwrap();
    let now = NOW.saturating_add_signed(i64::from(input.skew_secs));
    let (signature, timestamp) = if input.sign {
        let ts = input.timestamp.unwrap_or("1767225600");
        let mut msg = ts.as_bytes().to_vec();
        msg.extend_from_slice(input.body);
        (Some(hex::encode(key.sign(&msg).to_bytes())), Some(ts.to_owned()))
    } else {
        (input.signature.map(str::to_owned), input.timestamp.map(str::to_owned))
    };
    match admit(&verifier, signature.as_deref(), timestamp.as_deref(), input.body, now) {
        // Whatever parsed must serialize back: the core answers from this value.
        Ok(interaction) => {
            serde_json::to_vec(&interaction).unwrap();
        }
        Err(Rejection::Unverified(_)) => assert!(!input.sign || timestamp_outside_window(&timestamp, now)),
        Err(Rejection::NotAnInteraction) => assert!(signature.is_some()),
    }
});

/// A correctly signed request is refused only for its timestamp.
fn timestamp_outside_window(ts: &Option<String>, now: u64) -> bool {
    match ts.as_deref().map(str::parse::<u64>) {
        Some(Ok(sent)) => sent.abs_diff(now) > 300,
        _ => true,
    }
}
