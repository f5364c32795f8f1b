//! Reading a command's options.

use twilight_model::application::interaction::application_command::{
    CommandDataOption, CommandOptionValue,
};

pub fn string<'a>(args: &'a [CommandDataOption], name: &str) -> Option<&'a str> {
    args.iter()
        .find(|o| o.name == name)
        .and_then(|o| match &o.value {
            CommandOptionValue::String(s) => Some(s.as_str()),
            _ => None,
        })
}

pub fn integer(args: &[CommandDataOption], name: &str) -> Option<i64> {
    args.iter()
        .find(|o| o.name == name)
        .and_then(|o| match o.value {
            CommandOptionValue::Integer(n) => Some(n),
            _ => None,
        })
}

/// A queue position from a 1-based integer option; out-of-range values fail in the queue.
pub fn position(args: &[CommandDataOption], name: &str) -> Result<usize, String> {
    let n = integer(args, name).ok_or_else(|| format!("`{name}` is required."))?;
    usize::try_from(n)
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(|| format!("`{name}` must be 1 or more."))
}

pub fn boolean(args: &[CommandDataOption], name: &str) -> Option<bool> {
    args.iter()
        .find(|o| o.name == name)
        .and_then(|o| match o.value {
            CommandOptionValue::Boolean(b) => Some(b),
            _ => None,
        })
}
