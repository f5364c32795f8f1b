//! The Discord REST client every subcommand uses.

/// A twilight-http client for the bot; `proxy` (`DISCORD_REST_PROXY`) sends it over plain
/// HTTP to a stand-in instead of Discord.
pub fn client(token: &str, proxy: Option<&str>) -> twilight_http::Client {
    timmybot_shared::tls::install_crypto_provider();
    let mut http = twilight_http::Client::builder().token(token.to_owned());
    if let Some(proxy) = proxy {
        http = http.proxy(proxy.to_owned(), true);
    }
    http.build()
}
