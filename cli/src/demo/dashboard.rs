//! `timmybot demo --dashboard`: the web dashboard on this machine, logged in through the fake
//! Discord's OAuth2 page, with a track playing, until Ctrl-C.

use std::collections::HashMap;
use std::net::SocketAddr;

use timmybot_config::names::env;
use timmybot_edge::Verifier;
use timmybot_fake_discord::interactions as di;
use timmybot_fake_discord::FakeDiscord;

use super::{Script, FIRST, GUILD, YOU};

pub struct Web {
    pub listen: (SocketAddr, Verifier),
    pub url: String,
}

/// The settings that turn the dashboard on against the fake Discord, and where it listens.
pub fn prepare(discord: &FakeDiscord, vars: &mut HashMap<String, String>) -> anyhow::Result<Web> {
    // A free loopback port: bound, then released for the bot to bind.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let public = format!("http://{addr}");
    discord.add_member(GUILD, "Demo Server", YOU, "you", &[]);
    for (k, v) in [
        (env::DISCORD_PUBLIC_KEY, di::public_key_hex()),
        (
            env::DISCORD_CLIENT_SECRET,
            timmybot_fake_discord::OAUTH_CLIENT_SECRET.to_owned(),
        ),
        (env::PUBLIC_URL, public.clone()),
        (env::DISCORD_WEB_URL, discord.rest.web_url()),
    ] {
        vars.insert(k.to_owned(), v);
    }
    Ok(Web {
        listen: (addr, Verifier::from_hex(&di::public_key_hex())?),
        url: format!("{public}/dashboard"),
    })
}

/// Something to look at, then the address, then Ctrl-C.
pub async fn tour(s: &mut Script<'_>, web: &Web) -> anyhow::Result<()> {
    s.command("play", &[("query", &format!("local:{}", FIRST.0))])
        .await?;
    s.command("play", &[("query", &format!("local:{}", super::SECOND.0))])
        .await?;
    println!(
        "\nThe web dashboard is at {}\nOpen it, press \"Log in with Discord\", and approve as \
         \"you\" on the fake Discord's page. Ctrl-C ends the demo.",
        web.url
    );
    voice_worker::startup::shutdown_signal().await;
    Ok(())
}
