//! The owners' page: for the bot's owners only; anyone else gets the same "not found" as a
//! guild they are not in.

use std::sync::Arc;

use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use timmybot_commands::AWAKE_WITHIN_MS;
use timmybot_domain::{AuditScope, WorkerIndex};

use super::guild::said;
use super::{html, is_htmx, not_found, session, to_login, trouble, viewer};
use crate::control::{owner_action, OwnerForm};
use crate::pages::owner::{self as page, OwnerView};
use crate::session::Session;
use crate::Dashboard;

const AUDIT_SHOWN: usize = 50;

/// The session, if it is an owner's; the answer to send otherwise.
fn owner(d: &Dashboard, headers: &HeaderMap) -> Result<Session, Box<Response>> {
    let session = session(d, headers).ok_or_else(|| Box::new(to_login(headers)))?;
    if !d.core.is_owner(session.user) {
        return Err(Box::new(not_found(d, &session)));
    }
    Ok(session)
}

pub async fn show(State(d): State<Arc<Dashboard>>, headers: HeaderMap) -> Response {
    match owner(&d, &headers) {
        Ok(session) => render(&d, &session, None, false).await,
        Err(res) => *res,
    }
}

pub async fn act(
    State(d): State<Arc<Dashboard>>,
    headers: HeaderMap,
    Form(form): Form<OwnerForm>,
) -> Response {
    let session = match owner(&d, &headers) {
        Ok(session) => session,
        Err(res) => return *res,
    };
    if !d.keys.csrf_ok(&session, &form.csrf) {
        return super::forbidden_csrf();
    }
    let text = match owner_action(&form) {
        Ok(action) => {
            let (response, handled) = d.core.owner_act(session.user, action).await;
            tracing::info!(
                action = handled.name,
                failed = handled.failed,
                "dashboard owner action"
            );
            said(&response)
        }
        Err(why) => why,
    };
    render(&d, &session, Some(&text), is_htmx(&headers)).await
}

async fn render(d: &Dashboard, session: &Session, said: Option<&str>, part: bool) -> Response {
    let store = d.core.store();
    let read = async {
        let requests = store.pending_requests().await?;
        let allowed = store.list_allowed().await?;
        let audit = store.audit_log(AuditScope::Bot, AUDIT_SHOWN).await?;
        let mut workers = Vec::new();
        for i in 0..d.core.worker_count() {
            workers.push(store.last_beat(WorkerIndex::new(i)).await?);
        }
        Ok::<_, timmybot_store::StoreError>((requests, allowed, audit, workers))
    };
    let (requests, allowed, audit, workers) = match read.await {
        Ok(read) => read,
        Err(e) => {
            tracing::error!(error = %e, "reading the owner page failed");
            return trouble(d, session);
        }
    };
    let csrf = d.keys.csrf(session);
    let view = OwnerView {
        requests: &requests,
        allowed: &allowed,
        workers: &workers,
        audit: &audit,
        now_ms: d.core.clock().now_ms(),
        awake_within_ms: AWAKE_WITHIN_MS,
        csrf: &csrf,
        said,
    };
    let markup = if part {
        page::live(&view)
    } else {
        page::page(&viewer(d, session, &csrf), &view)
    };
    html(StatusCode::OK, markup)
}
