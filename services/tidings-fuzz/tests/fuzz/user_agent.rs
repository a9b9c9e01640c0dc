//! The client identity of a User-Agent: any text gives a version or an error that names
//! its field; a version written as `key/value` tokens among any others reads back as itself.

use tidings_domain::client::{ClientVersion, Platform};

/// A version as the tokens [`ClientVersion::from_user_agent`] reads.
fn as_tokens(version: &ClientVersion) -> Vec<String> {
    let ClientVersion { platform, app_version, core_level } = version;
    [
        platform.map(|platform| format!("platform/{platform}")),
        app_version.as_ref().map(|app_version| format!("app_version/{app_version}")),
        core_level.map(|core_level| format!("core_level/{core_level}")),
    ]
    .into_iter()
    .flatten()
    .collect()
}

#[test]
fn user_agent_text() {
    bolero::check!(name = "user_agent_text").for_each(|bytes: &[u8]| {
        // Header values that are not text are refused before parsing (`extract.rs`).
        let Ok(agent) = std::str::from_utf8(bytes) else { return };
        match ClientVersion::from_user_agent(agent) {
            Ok(version) => {
                assert_eq!(ClientVersion::from_user_agent(&as_tokens(&version).join(" ")), Ok(version), "{agent:?}")
            }
            Err(error) => assert!(error.to_string().starts_with(error.field()), "{error} from {agent:?}"),
        }
    });
}

#[test]
fn versions_read_back_from_among_other_tokens() {
    let generator = (0..=Platform::ALL.len(), bolero::produce::<Option<String>>(), bolero::produce::<Option<i64>>());
    bolero::check!(name = "versions_read_back_from_among_other_tokens")
        .with_generator((generator, bolero::produce::<Vec<String>>()))
        .for_each(|((platform, app_version, core_level), others)| {
            // What a User-Agent can carry: no whitespace in a value, and a blank one is absent.
            let app_version = app_version
                .as_ref()
                .map(|text| text.chars().filter(|c| !c.is_whitespace()).collect::<String>())
                .filter(|text| !text.is_empty());
            let version =
                ClientVersion { platform: Platform::ALL.get(*platform).copied(), app_version, core_level: *core_level };
            let ours = as_tokens(&version);
            // Other tokens: anything without whitespace that is not one of ours by its key.
            let theirs = others.iter().map(|token| token.split_whitespace().collect::<String>()).filter(|token| {
                let key = token.split_once('/').map_or("", |(key, _)| key);
                !["platform", "app_version", "core_level"].iter().any(|ours| ours.eq_ignore_ascii_case(key))
            });
            let mut tokens: Vec<String> = theirs.collect();
            for (at, token) in ours.into_iter().enumerate() {
                let position = (at * 7) % (tokens.len() + 1);
                tokens.insert(position, token);
            }
            assert_eq!(ClientVersion::from_user_agent(&tokens.join(" ")), Ok(version), "{tokens:?}");
        });
}
