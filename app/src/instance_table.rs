//! The console's listing of instances: its search, filters, order and page, kept in the page's URL so that a
//! reload, a shared link or a sign-in comes back to the same view; and one page of it as the server answers.

use crate::instances::{InstanceCard, InstanceId};
use serde::{Deserialize, Serialize};

/// How many instances one page of the console's listing holds.
pub const TABLE_PAGE_SIZE: u32 = 25;

/// The order of the listing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum InstanceSort {
    #[default]
    Newest,
    Oldest,
    Name,
    NameDescending,
}

impl InstanceSort {
    pub const ALL: [InstanceSort; 4] =
        [InstanceSort::Newest, InstanceSort::Oldest, InstanceSort::Name, InstanceSort::NameDescending];

    pub fn as_str(self) -> &'static str {
        match self {
            InstanceSort::Newest => "newest",
            InstanceSort::Oldest => "oldest",
            InstanceSort::Name => "name",
            InstanceSort::NameDescending => "name-desc",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            InstanceSort::Newest => "Newest first",
            InstanceSort::Oldest => "Oldest first",
            InstanceSort::Name => "Name, A to Z",
            InstanceSort::NameDescending => "Name, Z to A",
        }
    }

    pub fn parse(text: &str) -> Option<InstanceSort> {
        InstanceSort::ALL.into_iter().find(|sort| sort.as_str() == text)
    }
}

/// Which health the listing shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum HealthFilter {
    /// Working: enabled, valid, and its last refresh did not fail.
    Healthy,
    /// Enabled and valid, but refreshes are failing.
    Failing,
    /// Refused by the provider: needs re-authentication.
    Invalid,
    Disabled,
}

impl HealthFilter {
    pub const ALL: [HealthFilter; 4] =
        [HealthFilter::Healthy, HealthFilter::Failing, HealthFilter::Invalid, HealthFilter::Disabled];

    pub fn as_str(self) -> &'static str {
        match self {
            HealthFilter::Healthy => "healthy",
            HealthFilter::Failing => "failing",
            HealthFilter::Invalid => "invalid",
            HealthFilter::Disabled => "disabled",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            HealthFilter::Healthy => "Healthy",
            HealthFilter::Failing => "Refresh failing",
            HealthFilter::Invalid => "Needs re-authentication",
            HealthFilter::Disabled => "Disabled",
        }
    }

    pub fn parse(text: &str) -> Option<HealthFilter> {
        HealthFilter::ALL.into_iter().find(|health| health.as_str() == text)
    }
}

/// What the listing shows, as its URL's query says: `q`, `element`, `health`, `sort`, `page`, and `instance`
/// (just that one instance, as after connecting it).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct InstanceTableQuery {
    /// Matches names, tags, end users (id or email) and elements (key or name), in any case.
    pub search: String,
    /// An element key.
    pub element: String,
    pub health: Option<HealthFilter>,
    pub sort: InstanceSort,
    /// From 1.
    pub page: u32,
    pub instance: Option<InstanceId>,
}

impl InstanceTableQuery {
    /// Reads the URL's query through `get`; values it does not know are left at their defaults.
    pub fn from_url(get: impl Fn(&str) -> Option<String>) -> InstanceTableQuery {
        InstanceTableQuery {
            search: get("q").map(|text| text.trim().to_owned()).unwrap_or_default(),
            element: get("element").unwrap_or_default(),
            health: get("health").as_deref().and_then(HealthFilter::parse),
            sort: get("sort").as_deref().and_then(InstanceSort::parse).unwrap_or_default(),
            page: get("page").and_then(|page| page.parse().ok()).filter(|page| *page >= 1).unwrap_or(1),
            instance: get("instance").and_then(|id| id.parse().ok()).map(InstanceId),
        }
    }

    /// The listing's URL for this query, leaving out what is at its default.
    pub fn to_url(&self) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        if !self.search.is_empty() {
            query.append_pair("q", &self.search);
        }
        if !self.element.is_empty() {
            query.append_pair("element", &self.element);
        }
        if let Some(health) = self.health {
            query.append_pair("health", health.as_str());
        }
        if self.sort != InstanceSort::default() {
            query.append_pair("sort", self.sort.as_str());
        }
        if self.page > 1 {
            query.append_pair("page", &self.page.to_string());
        }
        if let Some(id) = self.instance {
            query.append_pair("instance", &id.0.to_string());
        }
        let query = query.finish();
        if query.is_empty() { "/instances".to_owned() } else { format!("/instances?{query}") }
    }

    /// The same view on another page.
    pub fn on_page(&self, page: u32) -> InstanceTableQuery {
        InstanceTableQuery { page, ..self.clone() }
    }
}

/// One page of the listing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstanceTablePage {
    pub cards: Vec<InstanceCard>,
    /// How many instances match, on every page.
    pub total: u64,
    /// The elements the organization has instances of, as `(key, name)`, for the element filter.
    pub elements: Vec<(String, String)>,
}

impl InstanceTablePage {
    /// How many pages the matching instances fill (at least one).
    pub fn pages(&self) -> u32 {
        u32::try_from(self.total.div_ceil(u64::from(TABLE_PAGE_SIZE))).unwrap_or(u32::MAX).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn a_query_survives_its_url() {
        let query = InstanceTableQuery {
            search: "acme & co".into(),
            element: "hubspot".into(),
            health: Some(HealthFilter::Failing),
            sort: InstanceSort::NameDescending,
            page: 3,
            instance: None,
        };
        let url = query.to_url();
        assert_eq!(url, "/instances?q=acme+%26+co&element=hubspot&health=failing&sort=name-desc&page=3");
        let pairs: BTreeMap<String, String> =
            form_urlencoded::parse(url.split_once('?').unwrap().1.as_bytes()).into_owned().collect();
        assert_eq!(InstanceTableQuery::from_url(|name| pairs.get(name).cloned()), query);
        assert_eq!(InstanceTableQuery::default().on_page(1).to_url(), "/instances");
    }

    #[test]
    fn unknown_values_fall_back_to_the_defaults() {
        let query = InstanceTableQuery::from_url(|name| {
            Some(match name {
                "sort" => "sideways".into(),
                "health" => "so-so".into(),
                "page" => "0".into(),
                _ => return None,
            })
        });
        assert_eq!(query, InstanceTableQuery { page: 1, ..Default::default() });
    }

    #[test]
    fn pages_round_up() {
        let page = |total| InstanceTablePage { cards: Vec::new(), total, elements: Vec::new() };
        assert_eq!((page(0).pages(), page(25).pages(), page(26).pages(), page(250).pages()), (1, 1, 2, 10));
    }
}
