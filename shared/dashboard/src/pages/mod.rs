//! The HTML, as maud templates over plain values: no I/O, so a page is a function of what
//! the handler read. maud escapes every interpolated value.

pub mod guild;
pub mod home;
pub mod owner;

use maud::{html, Markup, DOCTYPE};

use crate::routes::{ASSETS, BASE};

/// Who is looking, for the header.
pub struct Viewer<'a> {
    pub name: &'a str,
    pub csrf: &'a str,
    pub owner: bool,
}

/// The page around `body`: one stylesheet, htmx and our small script, all from `ASSETS`.
pub fn shell(title: &str, viewer: Option<&Viewer<'_>>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                // No eval, no injected <style> and no style attributes copied on a swap: the
                // CSP allows none of them.
                meta name="htmx-config" content=r#"{"includeIndicatorStyles":false,"allowEval":false,"allowScriptTags":false,"attributesToSettle":["class","width","height"]}"#;
                title { (title) " · TimmyBot" }
                link rel="stylesheet" href={ (ASSETS) "/app.css" };
                script src={ (ASSETS) "/htmx-2.0.11.min.js" } defer {}
                script src={ (ASSETS) "/app.js" } defer {}
            }
            body {
                header {
                    a.brand href=(BASE) { "🎵 TimmyBot" }
                    @if let Some(v) = viewer {
                        nav {
                            @if v.owner { a href={ (BASE) "/owner" } { "Owner" } }
                            span.who { (v.name) }
                            form method="post" action={ (BASE) "/logout" } {
                                input type="hidden" name="csrf" value=(v.csrf);
                                button.link { "Log out" }
                            }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

/// A page that only says something: errors, refusals.
pub fn message(title: &str, text: &str, viewer: Option<&Viewer<'_>>) -> Markup {
    shell(
        title,
        viewer,
        html! {
            h1 { (title) }
            p { (text) }
            p { a href=(BASE) { "Back to the dashboard" } }
        },
    )
}

/// A UTC time, to the minute.
pub fn when(ms: u64) -> String {
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms);
    let text = humantime::format_rfc3339_seconds(at).to_string();
    // 2026-12-02T01:23:45Z → 2026-12-02 01:23 UTC
    format!("{} UTC", text.get(..16).unwrap_or(&text).replace('T', " "))
}
