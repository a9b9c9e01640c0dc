//! What an operator's name and password must be.

use tidings_domain::FieldError;

/// The longest name, in characters.
pub const MAX_NAME_CHARS: usize = 64;
/// The shortest password, in characters.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// The longest password, in bytes: bounds the work a login asks of the server.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// 1 to 64 characters of `A-Z a-z 0-9 . _ -`; the error names the field `name`.
pub fn validate_name(name: &str) -> Result<(), FieldError> {
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(FieldError::new("name", format!("must be 1 to {MAX_NAME_CHARS} characters long")));
    }
    if let Some(bad) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))) {
        return Err(FieldError::new("name", format!("{bad:?} is not allowed: use letters, digits, '.', '_' or '-'")));
    }
    Ok(())
}

/// At least 8 characters and at most 1024 bytes; the error names the field `password`.
pub fn validate_password(password: &str) -> Result<(), FieldError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(FieldError::new("password", format!("must be at least {MIN_PASSWORD_CHARS} characters long")));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(FieldError::new("password", format!("must be at most {MAX_PASSWORD_BYTES} bytes long")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_short_and_plain() {
        for good in ["a", "alice", "ops.team_2-b", &"x".repeat(64)] {
            assert_eq!(validate_name(good), Ok(()), "{good}");
        }
        for bad in ["", &"x".repeat(65), "al ice", "ålice", "a/b", "a:b"] {
            assert_eq!(validate_name(bad).unwrap_err().field, "name", "{bad}");
        }
    }

    #[test]
    fn passwords_are_long_enough_and_bounded() {
        assert_eq!(validate_password("12345678"), Ok(()));
        assert_eq!(validate_password("пароль12"), Ok(()), "characters, not bytes");
        for bad in ["", "1234567", &"x".repeat(1025)] {
            assert_eq!(validate_password(bad).unwrap_err().field, "password");
        }
    }
}
