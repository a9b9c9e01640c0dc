//! The console's pages, one module each.

pub mod actions;
pub mod audit;
pub mod broadcasts;
pub mod layout;
pub mod preview;
pub mod reach;
pub mod whitelist;

use tidings_domain::broadcast::Audience;

/// An audience in words, as the list and the confirmations say it.
pub fn audience_summary(audience: &Audience) -> String {
    let mut parts = Vec::new();
    match audience.platforms.as_slice() {
        [] => parts.push("every platform".to_owned()),
        platforms => {
            let names: Vec<&str> = platforms.iter().map(|p| p.as_str()).collect();
            parts.push(format!("platforms {}", names.join(", ")));
        }
    }
    match (audience.min_core_level, audience.max_core_level) {
        (None, None) => {}
        (Some(min), None) => parts.push(format!("core level ≥ {min}")),
        (None, Some(max)) => parts.push(format!("core level ≤ {max}")),
        (Some(min), Some(max)) => parts.push(format!("core level {min}–{max}")),
    }
    if audience.logged_in_only {
        parts.push("logged-in users only".into());
    }
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use tidings_domain::client::Platform;

    use super::*;

    #[test]
    fn audiences_read_as_words() {
        assert_eq!(audience_summary(&Audience::default()), "every platform");
        let narrow = Audience {
            platforms: vec![Platform::Ios, Platform::Web],
            min_core_level: Some(3),
            max_core_level: Some(7),
            logged_in_only: true,
        };
        assert_eq!(audience_summary(&narrow), "platforms ios, web; core level 3–7; logged-in users only");
    }
}
