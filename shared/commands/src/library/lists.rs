//! The user's lists: `/my-playlists` (its menu and pages), `/liked-songs`, and the queue-again
//! buttons.

use super::*;

/// The platforms a library command uses: the one asked for, or every linked one, the one
/// linked last first. Reads the user item only when none was asked for.
async fn linked(
    accounts: &Accounts,
    user: UserId,
    asked: Option<Platform>,
) -> Result<Vec<Platform>, CommandError> {
    match asked {
        Some(p) => Ok(vec![p]),
        None => newest_first(&accounts.linker().status(user).await?),
    }
}

fn newest_first(status: &LinkStatus) -> Result<Vec<Platform>, CommandError> {
    let mut linked: Vec<_> = status.linked.iter().collect();
    linked.sort_by_key(|l| std::cmp::Reverse(l.linked_at_ms));
    if linked.is_empty() {
        return Err(CommandError::User(
            "Link an account first: `/auth-youtube` or `/auth-spotify`.".into(),
        ));
    }
    Ok(linked.iter().map(|l| l.platform).collect())
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
        match listing(p, accounts.playlists(user, p, None)).await {
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
    let page = listing(
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
    // Refused here rather than after a deferral: the worker would only find it unlinked.
    let status = accounts(core)?.linker().status(ctx.member.user).await?;
    let platform = match platform {
        Some(p) if status.linked.iter().any(|l| l.platform == p) => p,
        Some(p) => {
            return Err(AccountError::NotLinked(
                timmybot_accounts::link::PlatformName(p),
                p.as_str(),
            )
            .into())
        }
        None => newest_first(&status)?[0],
    };
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
