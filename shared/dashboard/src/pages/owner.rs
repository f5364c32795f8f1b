//! The owners' page: pending access requests, the allowlist, each worker's state and the
//! audit log.

use maud::{html, Markup};

use timmybot_domain::{AccessRequest, AllowEntry, AuditEntry, Heartbeat};

use super::{shell, when, Viewer};
use crate::routes::BASE;

pub struct OwnerView<'a> {
    pub requests: &'a [AccessRequest],
    pub allowed: &'a [AllowEntry],
    /// Each worker's last heartbeat, by index.
    pub workers: &'a [Option<Heartbeat>],
    pub audit: &'a [AuditEntry],
    pub now_ms: u64,
    pub awake_within_ms: u64,
    pub csrf: &'a str,
    pub said: Option<&'a str>,
}

pub fn page(viewer: &Viewer<'_>, view: &OwnerView<'_>) -> Markup {
    shell(
        "Owner",
        Some(viewer),
        html! {
            h1 { "Owner" }
            (live(view))
        },
    )
}

/// Everything that changes with a decision, swapped in place by htmx.
pub fn live(view: &OwnerView<'_>) -> Markup {
    let action = format!("{BASE}/owner");
    let form_attrs = |body: Markup| {
        html! {
            form method="post" action=(action) hx-post=(action) hx-target="#live" hx-swap="outerHTML" {
                input type="hidden" name="csrf" value=(view.csrf);
                (body)
            }
        }
    };
    html! {
        section #live {
            @if let Some(said) = view.said { p.said role="status" { (said) } }
            div.card {
                h2 { "Access requests" }
                @if view.requests.is_empty() {
                    p.muted { "No server is waiting." }
                } @else {
                    (form_attrs(html! {
                        ul.requests {
                            @for r in view.requests {
                                li {
                                    strong { (if r.server_name.is_empty() { "(no name given)" } else { &r.server_name }) }
                                    " · server " code { (r.guild_id) }
                                    p { (r.use_case) }
                                    p.muted { "Asked by " code { (r.requested_by) } " · about " (r.expected_listeners) " listeners · " (when(r.requested_at_ms)) }
                                    button.primary name="op" value={ "approve:" (r.guild_id) } aria-label={ "Approve " (r.server_name) } { "Approve" }
                                    button name="op" value={ "deny:" (r.guild_id) } aria-label={ "Deny " (r.server_name) } { "Deny" }
                                }
                            }
                        }
                    }))
                }
            }
            div.card {
                h2 { "Workers" }
                table {
                    thead { tr { th { "Worker" } th { "State" } th { "Streams (guilds)" } th { "Last heartbeat" } } }
                    tbody {
                        @for (i, beat) in view.workers.iter().enumerate() {
                            tr {
                                td { (i) }
                                @match beat {
                                    Some(hb) if hb.is_fresh(view.now_ms, view.awake_within_ms) => {
                                        td { "🟢 awake since " (when(hb.started_at_ms)) }
                                        td {
                                            (hb.active_guilds.len())
                                            @for g in &hb.active_guilds { br; code.muted { (g) } }
                                        }
                                        td { (view.now_ms.saturating_sub(hb.last_beat_ms) / 1000) " s ago" }
                                    }
                                    Some(hb) => {
                                        td { "💤 asleep" }
                                        td { "0" }
                                        td { (when(hb.last_beat_ms)) }
                                    }
                                    None => { td { "💤 asleep" } td { "0" } td { "never" } }
                                }
                            }
                        }
                    }
                }
            }
            div.card {
                h2 { "Allowlist" }
                (form_attrs(html! {
                    ul.allowed {
                        @for a in view.allowed {
                            li {
                                code { (a.guild_id) }
                                @if !a.note.is_empty() { " · " (a.note) }
                                span.muted { " · since " (when(a.approved_at_ms)) }
                                button name="op" value={ "revoke:" (a.guild_id) } aria-label={ "Remove " (a.guild_id) } { "Remove" }
                            }
                        }
                    }
                }))
                (form_attrs(html! {
                    input type="hidden" name="op" value="allow";
                    label for="guild" { "Server id" }
                    input #guild type="text" name="guild" inputmode="numeric" pattern="[0-9]{1,20}" required;
                    label for="note" { "Note" }
                    input #note type="text" name="note" maxlength="200";
                    button.primary { "Add to the allowlist" }
                }))
            }
            div.card {
                h2 { "Audit log" }
                table {
                    thead { tr { th { "When" } th { "Who" } th { "What" } th { "Server" } th { "Detail" } th { "From" } } }
                    tbody {
                        @for e in view.audit {
                            tr {
                                td { (when(e.at_ms)) }
                                td { @if let Some(a) = e.actor { code { (a) } } }
                                td { (e.action.as_str()) }
                                td { @if let Some(t) = e.target { code { (t) } } }
                                td { (e.detail) }
                                td { (e.origin) }
                            }
                        }
                    }
                }
            }
        }
    }
}
