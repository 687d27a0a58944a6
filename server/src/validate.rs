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

/// An instance's name or tag: a required name with any markup taken out (`<a href=…>Sales</a>` is `Sales`), so
/// that no page or mail that shows it carries a client's HTML.
pub fn instance_label(field: &str, value: &str, max: usize) -> Result<String, HubError> {
    required_name(field, &without_markup(value), max)
}

/// The names of HTML's elements: a `<` followed by one of them (or `/` and one of them) opens a tag.
const HTML_ELEMENTS: &[&str] = &[
    "a",
    "abbr",
    "address",
    "area",
    "article",
    "aside",
    "audio",
    "b",
    "base",
    "bdi",
    "bdo",
    "blockquote",
    "body",
    "br",
    "button",
    "canvas",
    "caption",
    "cite",
    "code",
    "col",
    "colgroup",
    "data",
    "datalist",
    "dd",
    "del",
    "details",
    "dfn",
    "dialog",
    "div",
    "dl",
    "dt",
    "em",
    "embed",
    "fieldset",
    "figcaption",
    "figure",
    "font",
    "footer",
    "form",
    "frame",
    "frameset",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "head",
    "header",
    "hr",
    "html",
    "i",
    "iframe",
    "img",
    "input",
    "ins",
    "kbd",
    "label",
    "legend",
    "li",
    "link",
    "main",
    "map",
    "mark",
    "marquee",
    "menu",
    "meta",
    "meter",
    "nav",
    "noscript",
    "object",
    "ol",
    "optgroup",
    "option",
    "output",
    "p",
    "param",
    "picture",
    "pre",
    "progress",
    "q",
    "rp",
    "rt",
    "ruby",
    "s",
    "samp",
    "script",
    "section",
    "select",
    "slot",
    "small",
    "source",
    "span",
    "strong",
    "style",
    "sub",
    "summary",
    "sup",
    "svg",
    "table",
    "tbody",
    "td",
    "template",
    "textarea",
    "tfoot",
    "th",
    "thead",
    "time",
    "title",
    "tr",
    "track",
    "u",
    "ul",
    "var",
    "video",
    "wbr",
];

/// Whether `rest` (just after a `<`) opens an HTML tag or comment: `!--`, or an element's name, with or without a
/// leading `/`, followed by whitespace, `/` or `>`.
fn opens_tag(rest: &str) -> bool {
    if rest.starts_with("!--") {
        return true;
    }
    let rest = rest.strip_prefix('/').unwrap_or(rest);
    let name_end = rest.find(|c: char| !c.is_ascii_alphanumeric()).unwrap_or(rest.len());
    let (name, after) = rest.split_at(name_end);
    let ends_well = after.starts_with(|c: char| c.is_whitespace() || c == '/' || c == '>');
    ends_well && HTML_ELEMENTS.iter().any(|element| element.eq_ignore_ascii_case(name))
}

/// `text` without its HTML tags and comments, each from its `<` to the next `>`. Other angle brackets stay:
/// `a < b`, or a placeholder such as `<Instance Name>`.
fn without_markup(text: &str) -> String {
    let mut plain = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('<') {
        match rest[open..].find('>') {
            Some(close) if opens_tag(&rest[open + 1..]) => {
                plain.push_str(&rest[..open]);
                rest = &rest[open + close + 1..];
            }
            _ => {
                plain.push_str(&rest[..=open]);
                rest = &rest[open + 1..];
            }
        }
    }
    plain.push_str(rest);
    plain
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_labels_lose_their_markup_only() {
        let cases = [
            ("<a href=\"https://evil.example\">Sales</a>", "Sales"),
            ("<b>Key</b> <i>accounts</i>", "Key accounts"),
            ("a < b and c > d", "a < b and c > d"),
            ("R&D <!-- note -->team", "R&D team"),
            ("<script>alert(1)</script>Ops", "alert(1)Ops"),
            ("<Instance Name>", "<Instance Name>"),
            ("<DIV class=x>Big</DIV><br/>", "Big"),
        ];
        for (given, stored) in cases {
            assert_eq!(instance_label("name", given, 200).unwrap(), stored, "{given}");
        }
        assert!(instance_label("name", "<br/>", 200).unwrap_err().to_string().contains("must not be empty"));
    }

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
