//! `/play-history` and `/recommendations`: our own plays, Spotify's recently played and top
//! tracks, and the recommender.

use std::collections::HashSet;

use super::*;

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
            if spotify_linked(accounts, user).await? {
                match listing(Platform::Spotify, accounts.recently_played(user, 5)).await {
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
    let mut seeds: Vec<Seed> = seed_plays.into_iter().take(SEEDS).map(Seed::from).collect();
    let mut from_spotify = false;
    if let Some(accounts) = core.accounts.as_deref() {
        if spotify_linked(accounts, user).await? {
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
