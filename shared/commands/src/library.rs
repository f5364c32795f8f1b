//! Linked accounts and the user's own library: `/auth-youtube`, `/auth-spotify` (and its
//! pasted-address form), `/check-auth`, `/unlink`, `/my-playlists` (and its menu),
//! `/liked-songs`, `/play-history` and `/recommendations`.
//!
//! Listing answers here, inside a deadline that keeps Discord's 3 s; expanding a playlist
//! of hundreds of tracks does not: the play intent carries a [`LibraryRef`] and the
//! requester, and the worker expands it with the requester's token.

use std::collections::HashSet;
use std::time::Duration;

use secrecy::SecretString;
use twilight_model::application::interaction::modal::ModalInteractionData;
use twilight_model::http::interaction::InteractionResponse;

use timmybot_accounts::link::{AccountError, DeviceOutcome, LinkStatus};
use timmybot_accounts::recommend::{normalise, Origin, Seed};
use timmybot_accounts::{Accounts, Redirect};
use timmybot_discord::command::HistoryScope;
use timmybot_discord::library::{self as ui, AgainItem, PlaylistOption, PlaylistPage};
use timmybot_discord::render::escape;
use timmybot_discord::reply;
use timmybot_domain::{HistoryEntry, LibraryRef, Platform, UserId};

use crate::{playback, CommandError, Core, Ctx};

/// What a listing may take before the reply says the platform is slow: Discord wants an
/// answer within 3 s, and the rest of the handler needs a little.
pub const LIST_DEADLINE: Duration = Duration::from_millis(2_300);
/// The recommender's share of the 3 s.
pub const SUGGEST_DEADLINE: Duration = Duration::from_millis(2_200);
/// How far back `/play-history` and the recommendations look.
const HISTORY_DEPTH: usize = 200;
const SHOWN: usize = 10;
/// Plays that seed the suggestions (the engine asks about the first few).
const SEEDS: usize = 5;
/// The latest plays a suggestion never repeats: what the server just heard is not news.
const RECENT_EXCLUDED: usize = 10;

impl From<AccountError> for CommandError {
    fn from(err: AccountError) -> Self {
        match err {
            e if e.is_users() => CommandError::User(e.to_string()),
            AccountError::Store(e) => e.into(),
            e => CommandError::Malformed(format!("linked accounts: {e}")),
        }
    }
}

fn accounts(core: &Core) -> Result<&Accounts, CommandError> {
    core.accounts.as_deref().ok_or_else(|| {
        CommandError::User(
            "Linked accounts aren't set up on this bot: its owner hasn't configured them.".into(),
        )
    })
}

async fn within<T>(
    what: Platform,
    fut: impl std::future::Future<Output = Result<T, AccountError>>,
) -> Result<T, CommandError> {
    match tokio::time::timeout(LIST_DEADLINE, fut).await {
        Ok(r) => r.map_err(Into::into),
        Err(_) => Err(CommandError::User(format!(
            "{} is slow to answer right now; try again in a moment.",
            ui::platform_name(what)
        ))),
    }
}

pub async fn auth_youtube(core: &Core, ctx: &Ctx) -> Result<InteractionResponse, CommandError> {
    let view = accounts(core)?
        .linker()
        .youtube_start(ctx.member.user)
        .await?;
    Ok(ui::youtube_code(
        &view.user_code,
        &view.verification_url,
        view.expires_at_ms,
    ))
}

/// "I've approved it": one token request.
pub async fn youtube_button(core: &Core, ctx: &Ctx) -> Result<InteractionResponse, CommandError> {
    let outcome = accounts(core)?
        .linker()
        .youtube_check(ctx.member.user)
        .await?;
    let (text, pending) = device_text(outcome);
    Ok(ui::youtube_check(&text, pending))
}

fn device_text(outcome: Option<DeviceOutcome>) -> (String, bool) {
    match outcome {
        None => (
            "There is no YouTube link waiting. Start one with `/auth-youtube`.".into(),
            false,
        ),
        Some(DeviceOutcome::Linked) => (
            "✅ YouTube is linked. Try `/my-playlists` or `/liked-songs`.".into(),
            false,
        ),
        Some(DeviceOutcome::Pending(v)) => (
            format!(
                "Not approved yet. Open **<{}>**, enter **`{}`**, then press the button again.",
                v.verification_url,
                v.user_code.replace('`', "")
            ),
            true,
        ),
        Some(DeviceOutcome::SlowDown { interval_s, .. }) => (
            format!(
                "Google asks us to check less often: wait {interval_s} s, then press the button again."
            ),
            true,
        ),
        Some(DeviceOutcome::Denied) => (
            "You declined at Google, so nothing was linked. Run `/auth-youtube` to try again."
                .into(),
            false,
        ),
        Some(DeviceOutcome::Expired) => (
            "The code expired before it was approved. Run `/auth-youtube` for a new one.".into(),
            false,
        ),
        Some(DeviceOutcome::InvalidGrant) => (
            "Google refused that code. Run `/auth-youtube` for a new one.".into(),
            false,
        ),
    }
}

pub async fn auth_spotify(core: &Core, ctx: &Ctx) -> Result<InteractionResponse, CommandError> {
    let (url, redirect) = accounts(core)?
        .linker()
        .spotify_start(ctx.member.user)
        .await?;
    Ok(ui::spotify_link(
        url.as_str(),
        matches!(redirect, Redirect::Loopback(_)),
    ))
}

pub fn spotify_paste_form() -> InteractionResponse {
    ui::spotify_form()
}

/// The pasted address: `code` and `state` from its query, checked like the callback's, and
/// bound to the Discord user who pasted it.
pub async fn spotify_pasted(
    core: &Core,
    ctx: &Ctx,
    data: &ModalInteractionData,
) -> Result<InteractionResponse, CommandError> {
    let accounts = accounts(core)?;
    let pasted = ui::pasted_url(data)
        .map(str::trim)
        .filter(|u| !u.is_empty() && u.len() <= ui::PASTED_URL_MAX)
        .ok_or_else(|| CommandError::User("Paste the whole address you landed on.".into()))?;
    let url = url::Url::parse(pasted).map_err(|_| {
        CommandError::User(
            "That isn't an address. Paste the whole address you landed on, starting with http://127.0.0.1."
                .into(),
        )
    })?;
    let param = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    if param("error").is_some() {
        return Ok(reply::ephemeral(
            "You declined at Spotify, so nothing was linked. Run `/auth-spotify` to try again.",
        ));
    }
    let (Some(code), Some(state)) = (param("code"), param("state")) else {
        return Err(CommandError::User(
            "That address has no `code` and `state` in it. Paste the address of the page Spotify sent you to."
                .into(),
        ));
    };
    accounts
        .linker()
        .spotify_finish(Some(ctx.member.user), &SecretString::from(code), &state)
        .await?;
    Ok(reply::ephemeral(
        "✅ Spotify is linked. Try `/my-playlists` or `/liked-songs`.",
    ))
}

pub async fn check_auth(core: &Core, ctx: &Ctx) -> Result<InteractionResponse, CommandError> {
    let accounts = accounts(core)?;
    let user = ctx.member.user;
    // A YouTube link waiting for approval is checked once, like the button.
    let mut lines = Vec::new();
    if accounts.linker().configured(Platform::Youtube) {
        if let Some(outcome) = accounts.linker().youtube_check(user).await? {
            lines.push(device_text(Some(outcome)).0);
        }
    }
    let status = accounts.linker().status(user).await?;
    lines.extend(status_lines(&status));
    Ok(reply::ephemeral(lines.join("\n")))
}

fn status_lines(status: &LinkStatus) -> Vec<String> {
    let mut lines = Vec::new();
    for platform in [Platform::Youtube, Platform::Spotify] {
        let name = ui::platform_name(platform);
        match status.linked.iter().find(|l| l.platform == platform) {
            Some(l) if l.needs_relink => lines.push(format!(
                "**{name}**: ⚠ no longer accepted; link it again with `/auth-{}`.",
                platform.as_str()
            )),
            Some(l) => lines.push(format!(
                "**{name}**: linked <t:{}:R>{}",
                l.linked_at_ms / 1000,
                if l.scopes.is_empty() {
                    String::new()
                } else {
                    format!(", for {}", l.scopes.join(", "))
                }
            )),
            None => lines.push(format!("**{name}**: not linked")),
        }
    }
    if let Some((platform, expires)) = status.pending {
        lines.push(format!(
            "A {} link is waiting for you to approve it; it expires <t:{}:R>.",
            ui::platform_name(platform),
            expires / 1000
        ));
    }
    lines
}

pub async fn unlink(
    core: &Core,
    ctx: &Ctx,
    platform: Platform,
) -> Result<InteractionResponse, CommandError> {
    let accounts = accounts(core)?;
    let was = accounts.linker().unlink(ctx.member.user, platform).await?;
    accounts.forget(ctx.member.user, platform);
    let name = ui::platform_name(platform);
    Ok(reply::ephemeral(match (was, platform) {
        (false, _) => format!("You hadn't linked {name}; there was nothing to delete."),
        (true, Platform::Youtube) => {
            "Unlinked YouTube: its tokens are deleted and the access is revoked at Google.".into()
        }
        (true, _) => format!(
            "Unlinked {name}: its tokens are deleted. To remove the app from your account too, \
             visit <https://www.spotify.com/account/apps/>."
        ),
    }))
}

/// The platforms a library command uses: the one asked for, or every linked one.
async fn linked(
    accounts: &Accounts,
    user: UserId,
    asked: Option<Platform>,
) -> Result<Vec<Platform>, CommandError> {
    if let Some(p) = asked {
        return Ok(vec![p]);
    }
    let status = accounts.linker().status(user).await?;
    let mut linked: Vec<_> = status.linked.iter().collect();
    // Newest link first: with both linked and none named, the one linked last leads.
    linked.sort_by_key(|l| std::cmp::Reverse(l.linked_at_ms));
    let platforms: Vec<_> = linked.iter().map(|l| l.platform).collect();
    if platforms.is_empty() {
        return Err(CommandError::User(
            "Link an account first: `/auth-youtube` or `/auth-spotify`.".into(),
        ));
    }
    Ok(platforms)
}

pub async fn my_playlists(
    core: &Core,
    ctx: &Ctx,
    platform: Option<Platform>,
) -> Result<InteractionResponse, CommandError> {
    let accounts = accounts(core)?;
    let user = ctx.member.user;
    let mut pages = Vec::new();
    let mut notes = Vec::new();
    for p in linked(accounts, user, platform).await? {
        match within(p, accounts.playlists(user, p, None)).await {
            Ok(page) => pages.push(page_view(p, page)),
            // With several platforms, one failing still shows the others.
            Err(CommandError::User(why)) if platform.is_none() => notes.push(why),
            Err(e) => return Err(e),
        }
    }
    if pages.iter().any(|p| p.platform == Platform::Spotify) {
        notes.push(
            "Spotify lists only playlists you own or collaborate on: that is all Spotify lets apps like this read."
                .into(),
        );
    }
    if pages.is_empty() {
        return Err(CommandError::User(notes.join("\n")));
    }
    Ok(ui::playlists(&pages, &notes, false))
}

fn page_view(
    platform: Platform,
    page: timmybot_accounts::library::Page<timmybot_accounts::library::Playlist>,
) -> PlaylistPage {
    PlaylistPage {
        platform,
        items: page
            .items
            .into_iter()
            .map(|p| PlaylistOption {
                id: p.id,
                title: p.title,
                tracks: p.tracks,
            })
            .collect(),
        next: page.next,
    }
}

/// `lib:page:<platform>:<cursor>`: the next page of one platform's playlists.
pub async fn playlists_page(
    core: &Core,
    ctx: &Ctx,
    rest: &str,
) -> Result<InteractionResponse, CommandError> {
    let accounts = accounts(core)?;
    let (platform, cursor) = rest
        .split_once(':')
        .and_then(|(p, c)| Some((library_platform(p)?, c)))
        .ok_or_else(|| CommandError::Malformed("a playlist page button".into()))?;
    let page = within(
        platform,
        accounts.playlists(ctx.member.user, platform, Some(cursor)),
    )
    .await?;
    Ok(ui::playlists(&[page_view(platform, page)], &[], true))
}

fn library_platform(raw: &str) -> Option<Platform> {
    match raw {
        "youtube" => Some(Platform::Youtube),
        "spotify" => Some(Platform::Spotify),
        _ => None,
    }
}

/// A playlist picked from the menu: queued like `/play`, expanded by the worker.
pub async fn pick(
    core: &Core,
    ctx: &Ctx,
    platform: &str,
    values: &[String],
) -> Result<InteractionResponse, CommandError> {
    let platform = library_platform(platform)
        .ok_or_else(|| CommandError::Malformed("a playlist menu".into()))?;
    let id = values
        .first()
        .ok_or_else(|| CommandError::Malformed("a playlist menu with no choice".into()))?;
    let list = LibraryRef::playlist(platform, id)
        .map_err(|_| CommandError::User("That playlist can't be played.".into()))?;
    playback::play(core, ctx, list.to_string(), false).await
}

pub async fn liked_songs(
    core: &Core,
    ctx: &Ctx,
    platform: Option<Platform>,
    shuffle: bool,
) -> Result<InteractionResponse, CommandError> {
    let accounts = accounts(core)?;
    let platform = linked(accounts, ctx.member.user, platform).await?[0];
    if accounts
        .linker()
        .status(ctx.member.user)
        .await?
        .linked
        .iter()
        .all(|l| l.platform != platform)
    {
        return Err(AccountError::NotLinked(
            timmybot_accounts::link::PlatformName(platform),
            platform.as_str(),
        )
        .into());
    }
    let list = LibraryRef::liked(platform, shuffle)
        .map_err(|_| CommandError::User("That can't be played.".into()))?;
    playback::play(core, ctx, list.to_string(), false).await
}

/// `lib:again:<query>`: a history entry or a suggestion, queued like `/play`.
pub async fn again(
    core: &Core,
    ctx: &Ctx,
    query: &str,
) -> Result<InteractionResponse, CommandError> {
    if query.trim().is_empty() {
        return Err(CommandError::Malformed(
            "an empty queue-again button".into(),
        ));
    }
    playback::play(core, ctx, query.to_owned(), false).await
}

pub async fn play_history(
    core: &Core,
    ctx: &Ctx,
    scope: HistoryScope,
) -> Result<InteractionResponse, CommandError> {
    let user = ctx.member.user;
    let plays = core
        .ports
        .store
        .recent_plays(ctx.guild, HISTORY_DEPTH)
        .await?;
    let mine: Vec<&HistoryEntry> = plays
        .iter()
        .filter(|h| scope == HistoryScope::Server || h.requester == user)
        .collect();
    let mut items: Vec<AgainItem> = mine
        .iter()
        .take(SHOWN)
        .map(|h| AgainItem {
            line: format!(
                "{}{} · <t:{}:R>",
                escape(&h.title),
                h.artist
                    .as_deref()
                    .map(|a| format!(" — {}", escape(a)))
                    .unwrap_or_default(),
                h.played_at_ms / 1000
            ),
            query: h.source.clone(),
        })
        .collect();
    let mut footer =
        String::from("From this bot's own history: YouTube gives apps no watch history.");
    if scope == HistoryScope::Me {
        if let Some(accounts) = core.accounts.as_deref() {
            let spotify_linked = accounts
                .linker()
                .status(user)
                .await?
                .linked
                .iter()
                .any(|l| l.platform == Platform::Spotify && !l.needs_relink);
            if spotify_linked {
                match within(Platform::Spotify, accounts.recently_played(user, 5)).await {
                    Ok(recent) if !recent.is_empty() => {
                        for t in recent
                            .into_iter()
                            .take(SHOWN.saturating_sub(items.len()).max(3))
                        {
                            items.push(AgainItem {
                                line: format!(
                                    "{}{} · on Spotify",
                                    escape(&t.title),
                                    t.artist
                                        .as_deref()
                                        .map(|a| format!(" — {}", escape(a)))
                                        .unwrap_or_default()
                                ),
                                query: format!("https://open.spotify.com/track/{}", t.id),
                            });
                        }
                        footer.push_str(
                            " Lines marked “on Spotify” are your Spotify recently played.",
                        );
                    }
                    Ok(_) => {}
                    Err(CommandError::User(why)) => footer.push_str(&format!(" {why}")),
                    Err(e) => return Err(e),
                }
            }
        }
    }
    if items.is_empty() {
        return Ok(reply::ephemeral(match scope {
            HistoryScope::Me => "You haven't played anything here yet.",
            HistoryScope::Server => "Nothing has been played here yet.",
        }));
    }
    let title = match scope {
        HistoryScope::Me => "Your recent plays",
        HistoryScope::Server => "Played here lately",
    };
    Ok(ui::queue_again(
        title,
        "Newest first. Press a number to queue it again.",
        &items,
        &footer,
    ))
}

pub async fn recommendations(core: &Core, ctx: &Ctx) -> Result<InteractionResponse, CommandError> {
    let user = ctx.member.user;
    let plays = core
        .ports
        .store
        .recent_plays(ctx.guild, HISTORY_DEPTH)
        .await?;
    // The user's own latest plays seed; without any, the server's. Only a few: every seed
    // is also something not to suggest back.
    let mine: Vec<&HistoryEntry> = plays.iter().filter(|h| h.requester == user).collect();
    let seed_plays = if mine.is_empty() {
        plays.iter().collect()
    } else {
        mine
    };
    let mut seeds: Vec<Seed> = seed_plays
        .into_iter()
        .take(SEEDS)
        .map(|h| Seed {
            title: h.title.clone(),
            artist: h.artist.clone(),
            isrc: None,
        })
        .collect();
    let mut from_spotify = false;
    if let Some(accounts) = core.accounts.as_deref() {
        if accounts
            .linker()
            .status(user)
            .await?
            .linked
            .iter()
            .any(|l| l.platform == Platform::Spotify && !l.needs_relink)
        {
            // Top tracks carry ISRCs, which MusicBrainz resolves best: they lead.
            if let Ok(Ok(top)) =
                tokio::time::timeout(Duration::from_millis(800), accounts.top_tracks(user, 5)).await
            {
                from_spotify = !top.is_empty();
                let top = top.into_iter().map(|t| Seed {
                    title: t.title,
                    artist: t.artist,
                    isrc: t.isrc,
                });
                seeds = top.chain(seeds).collect();
            }
        }
    }
    if seeds.is_empty() {
        return Ok(reply::ephemeral(
            "Play a few songs first: suggestions start from what you and this server play.",
        ));
    }
    let exclude: HashSet<String> = plays
        .iter()
        .take(RECENT_EXCLUDED)
        .map(|h| normalise(h.artist.as_deref().unwrap_or_default(), &h.title))
        .collect();
    let recommender = match core.accounts.as_deref() {
        Some(a) => a.recommender(),
        None => {
            return Err(CommandError::User(
                "Recommendations aren't set up on this bot.".into(),
            ))
        }
    };
    let found = recommender
        .suggest(&seeds, &plays, &exclude, 5, SUGGEST_DEADLINE)
        .await;
    if found.items.is_empty() {
        return Ok(reply::ephemeral(
            "I couldn't find anything new to suggest yet. Play a few more songs and try again.",
        ));
    }
    let items: Vec<AgainItem> = found
        .items
        .iter()
        .map(|s| AgainItem {
            line: format!(
                "{} — {} · because you played {}",
                escape(&s.title),
                escape(&s.artist),
                escape(&s.because)
            ),
            query: s.query.clone(),
        })
        .collect();
    let mut footer = match found.origin {
        Origin::ListenBrainz => {
            "From ListenBrainz's LB Radio (similar artists), with artists found through MusicBrainz."
                .to_owned()
        }
        Origin::History => "From this server's own history.".to_owned(),
    };
    if let Some(note) = &found.note {
        footer.push(' ');
        footer.push_str(note);
    }
    if from_spotify {
        footer.push_str(" Seeded with your Spotify top tracks.");
    }
    footer.push_str(
        " Spotify and YouTube no longer give apps recommendations, so these come from open services and our own plays.",
    );
    Ok(ui::queue_again(
        "Suggestions for you",
        "Press a number to queue it.",
        &items,
        &footer,
    ))
}
