//! URL and value templates of element definitions: `{placeholders}` filled from an instance's values, with
//! alternatives tried in order.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A URL or value with `{placeholders}`, possibly with fallbacks: the first alternative whose placeholders are
/// all known is the one used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template(pub Vec<String>);

impl Template {
    pub fn new(text: impl Into<String>) -> Template {
        Template(vec![text.into()])
    }

    pub fn alternatives(&self) -> &[String] {
        &self.0
    }

    /// Every placeholder name in every alternative.
    pub fn placeholders(&self) -> impl Iterator<Item = &str> {
        self.0.iter().flat_map(|text| placeholders_in(text))
    }

    /// Fills the first alternative whose placeholders `value` knows; `None` when no alternative can be filled.
    pub fn fill(&self, value: impl Fn(&str) -> Option<String>) -> Option<String> {
        self.0.iter().find_map(|text| {
            let mut out = String::with_capacity(text.len());
            let mut rest = text.as_str();
            while let Some(start) = rest.find('{') {
                let end = rest[start..].find('}')? + start;
                out.push_str(&rest[..start]);
                out.push_str(&value(&rest[start + 1..end])?);
                rest = &rest[end + 1..];
            }
            out.push_str(rest);
            Some(out)
        })
    }
}

/// The names between braces in one template text.
pub fn placeholders_in(text: &str) -> impl Iterator<Item = &str> {
    text.split('{').skip(1).filter_map(|part| part.split_once('}').map(|(name, _)| name))
}

/// A template is written as one string, or as a list of alternatives.
#[cfg(feature = "ssr")]
impl utoipa::PartialSchema for Template {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Type};
        OneOfBuilder::new()
            .item(ObjectBuilder::new().schema_type(Type::String))
            .item(ArrayBuilder::new().items(ObjectBuilder::new().schema_type(Type::String)).min_items(Some(1)))
            .description(Some("Text with {placeholders}, or a list of alternatives: the first whose placeholders are all known is used"))
            .into()
    }
}

#[cfg(feature = "ssr")]
impl utoipa::ToSchema for Template {}

impl Serialize for Template {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0.as_slice() {
            [one] => serializer.serialize_str(one),
            many => many.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Template {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Template, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum OneOrMany {
            One(String),
            Many(Vec<String>),
        }
        match OneOrMany::deserialize(deserializer)? {
            OneOrMany::One(text) => Ok(Template(vec![text])),
            OneOrMany::Many(list) if !list.is_empty() => Ok(Template(list)),
            OneOrMany::Many(_) => Err(serde::de::Error::custom("a template needs at least one alternative")),
        }
    }
}
