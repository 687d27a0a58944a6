//! Input checks shared by every door: each failure is a `BadRequest` whose message names the field.

use app::error::HubError;

/// A plausible email address, trimmed and lower-cased.
pub fn email(field: &str, value: &str) -> Result<String, HubError> {
    let value = value.trim().to_lowercase();
    let (local, domain) = value.split_once('@').ok_or_else(|| HubError::invalid(field, "must be an email address"))?;
    let valid = !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && value.len() <= 254
        && !value.chars().any(char::is_whitespace);
    if valid { Ok(value) } else { Err(HubError::invalid(field, "must be an email address")) }
}

/// A phone number in E.164 form: `+` then 8 to 15 digits. Spaces, dashes and brackets are removed first.
pub fn phone(field: &str, value: &str) -> Result<String, HubError> {
    let compact: String = value.chars().filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '.')).collect();
    let digits =
        compact.strip_prefix('+').ok_or_else(|| HubError::invalid(field, "must start with + and the country code"))?;
    if (8..=15).contains(&digits.len()) && digits.chars().all(|c| c.is_ascii_digit()) && !digits.starts_with('0') {
        Ok(compact)
    } else {
        Err(HubError::invalid(field, "must be + and 8 to 15 digits, as in +14155550123"))
    }
}

/// A person's or a thing's name: trimmed, at most `max` characters, no control characters.
pub fn name(field: &str, value: &str, max: usize) -> Result<String, HubError> {
    let value = value.trim();
    if value.chars().count() > max {
        return Err(HubError::invalid(field, format!("must be at most {max} characters")));
    }
    if value.chars().any(char::is_control) {
        return Err(HubError::invalid(field, "must not contain control characters"));
    }
    Ok(value.to_owned())
}

/// A name that must not be empty.
pub fn required_name(field: &str, value: &str, max: usize) -> Result<String, HubError> {
    let value = name(field, value, max)?;
    if value.is_empty() { Err(HubError::invalid(field, "must not be empty")) } else { Ok(value) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(email("e", " Ada@Example.COM ").unwrap(), "ada@example.com");
        for bad in ["", "ada", "ada@", "@x.io", "ada@localhost", "a b@x.io", "a@b@c.io", "a@.io"] {
            let error = email("emailAddress", bad).unwrap_err();
            assert!(error.to_string().starts_with("emailAddress:"), "{bad}: {error}");
        }
    }

    #[test]
    fn phones() {
        assert_eq!(phone("p", "+1 (415) 555-0123").unwrap(), "+14155550123");
        for bad in ["4155550123", "+1", "+0123456789", "+1415555012x", "+1234567890123456"] {
            assert!(phone("phone", bad).unwrap_err().to_string().starts_with("phone:"), "{bad}");
        }
    }

    #[test]
    fn names() {
        assert_eq!(name("n", "  Ada ", 10).unwrap(), "Ada");
        assert!(name("firstName", "x".repeat(11).as_str(), 10).unwrap_err().to_string().contains("firstName"));
        assert!(name("n", "a\u{0}b", 10).is_err());
        assert!(required_name("name", "   ", 10).unwrap_err().to_string().contains("name: must not be empty"));
    }
}
