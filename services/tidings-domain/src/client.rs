//! Who is pulling: the client version headers of the "IM兼容性基建" post.

use std::fmt;
use std::str::FromStr;

use crate::Uid;

/// The client platform, as sent in the `platform` header or User-Agent token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Platform {
    Ios,
    Android,
    Win,
    Mac,
    Linux,
    Web,
}

impl Platform {
    pub const ALL: [Platform; 6] =
        [Platform::Ios, Platform::Android, Platform::Win, Platform::Mac, Platform::Linux, Platform::Web];

    pub fn as_str(&self) -> &'static str {
        match self {
            Platform::Ios => "ios",
            Platform::Android => "android",
            Platform::Win => "win",
            Platform::Mac => "mac",
            Platform::Linux => "linux",
            Platform::Web => "web",
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A value that is not one of the known platforms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown platform {0:?}: expected one of ios, android, win, mac, linux, web")]
pub struct UnknownPlatform(pub String);

impl FromStr for Platform {
    type Err = UnknownPlatform;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Platform::ALL
            .into_iter()
            .find(|platform| platform.as_str().eq_ignore_ascii_case(value))
            .ok_or_else(|| UnknownPlatform(value.to_owned()))
    }
}

/// The version facts a client sends about itself. Each is optional: a broadcast whose
/// audience names a platform or core-level range is hidden from clients that don't say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientVersion {
    pub platform: Option<Platform>,
    pub app_version: Option<String>,
    pub core_level: Option<i64>,
}

/// A client-version field that is present but malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientVersionError {
    #[error("platform: {0}")]
    Platform(#[from] UnknownPlatform),
    #[error("core_level: {0:?} is not an integer")]
    CoreLevel(String),
}

impl ClientVersionError {
    /// The name of the offending field, for error bodies.
    pub fn field(&self) -> &'static str {
        match self {
            ClientVersionError::Platform(_) => "platform",
            ClientVersionError::CoreLevel(_) => "core_level",
        }
    }
}

impl ClientVersion {
    /// Builds the version from explicit values (headers or a login frame); blank values
    /// count as absent.
    pub fn from_parts(
        platform: Option<&str>,
        app_version: Option<&str>,
        core_level: Option<&str>,
    ) -> Result<Self, ClientVersionError> {
        fn present(value: Option<&str>) -> Option<&str> {
            value.map(str::trim).filter(|v| !v.is_empty())
        }
        Ok(Self {
            platform: present(platform).map(str::parse).transpose()?,
            app_version: present(app_version).map(str::to_owned),
            core_level: present(core_level)
                .map(|v| v.parse().map_err(|_| ClientVersionError::CoreLevel(v.to_owned())))
                .transpose()?,
        })
    }

    /// Parses the `platform/ios app_version/8.0.25 core_level/220819` tokens of a
    /// User-Agent, for clients that can't set headers. Other tokens are ignored.
    pub fn from_user_agent(user_agent: &str) -> Result<Self, ClientVersionError> {
        let token = |name: &str| {
            user_agent.split_whitespace().find_map(|token| {
                let (key, value) = token.split_once('/')?;
                key.eq_ignore_ascii_case(name).then_some(value)
            })
        };
        Self::from_parts(token("platform"), token("app_version"), token("core_level"))
    }

    /// Headers win field by field; the User-Agent fills in what they leave out.
    pub fn or_else(self, fallback: ClientVersion) -> ClientVersion {
        ClientVersion {
            platform: self.platform.or(fallback.platform),
            app_version: self.app_version.or(fallback.app_version),
            core_level: self.core_level.or(fallback.core_level),
        }
    }
}

/// The one pulling: the token's user plus the client's own version facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Viewer {
    pub uid: Uid,
    /// A device not logged in to an account (the token's `guest` claim).
    pub guest: bool,
    pub version: ClientVersion,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_user_agent_tokens_among_others() {
        let version =
            ClientVersion::from_user_agent("Mozilla/5.0 platform/ios app_version/8.0.25 core_level/220819 (iPhone)")
                .unwrap();
        assert_eq!(version.platform, Some(Platform::Ios));
        assert_eq!(version.app_version.as_deref(), Some("8.0.25"));
        assert_eq!(version.core_level, Some(220819));
    }

    #[test]
    fn user_agent_without_tokens_gives_nothing() {
        assert_eq!(ClientVersion::from_user_agent("curl/8.0").unwrap(), ClientVersion::default());
    }

    #[test]
    fn bad_values_name_their_field() {
        let error = ClientVersion::from_parts(Some("symbian"), None, None).unwrap_err();
        assert_eq!(error.field(), "platform");
        let error = ClientVersion::from_parts(None, None, Some("x1")).unwrap_err();
        assert_eq!(error.field(), "core_level");
    }

    #[test]
    fn headers_win_and_user_agent_fills_in() {
        let headers = ClientVersion::from_parts(Some("android"), None, None).unwrap();
        let agent = ClientVersion::from_user_agent("platform/ios core_level/7").unwrap();
        let merged = headers.or_else(agent);
        assert_eq!(merged.platform, Some(Platform::Android));
        assert_eq!(merged.core_level, Some(7));
    }
}
