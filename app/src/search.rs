//! Searching the catalog, once for both doors: the REST API ranks elements with it on the server, and the console
//! ranks its cards with it in the browser.

use crate::catalog::{AuthType, ElementCard};

/// Words every catalog description shares ("Connects Acme accounts to the crm hub."): they tell no element apart,
/// so a search for them would match the whole catalog.
const SHARED_DESCRIPTION_WORDS: [&str; 5] = ["connects", "accounts", "to", "the", "hub"];

/// Precomputed lower-case text of an element, for fast search.
#[derive(Clone, Debug)]
pub struct SearchText {
    key: String,
    name: String,
    hub: String,
    /// The description's own words, lower-case and separated by single spaces, less the shared ones.
    description: String,
    aliases: Vec<String>,
}

impl SearchText {
    pub fn new(key: &str, name: &str, hub: &str, description: &str, aliases: &[String]) -> SearchText {
        SearchText {
            key: key.to_lowercase(),
            name: name.to_lowercase(),
            hub: hub.to_lowercase(),
            description: description
                .to_lowercase()
                .split(|c: char| !c.is_alphanumeric())
                .filter(|word| !word.is_empty() && !SHARED_DESCRIPTION_WORDS.contains(word))
                .collect::<Vec<_>>()
                .join(" "),
            aliases: aliases.iter().map(|alias| alias.to_lowercase()).collect(),
        }
    }

    /// How well `term` (lower-case) matches: lower is better, `None` is no match.
    ///
    /// Exact key or alias, then key or name prefixes, then word prefixes in the name, then substrings, then the
    /// hub, then a word of the description (or, for a term of several words, a phrase in it).
    pub fn score(&self, term: &str) -> Option<u8> {
        if term.is_empty() {
            return Some(9);
        }
        let aliases = || self.aliases.iter();
        if self.key == term || aliases().any(|alias| alias == term) || self.name == term {
            Some(0)
        } else if self.key.starts_with(term)
            || self.name.starts_with(term)
            || aliases().any(|alias| alias.starts_with(term))
        {
            Some(1)
        } else if self.name.split(|c: char| !c.is_alphanumeric()).any(|word| word.starts_with(term)) {
            Some(2)
        } else if self.key.contains(term) || self.name.contains(term) || aliases().any(|alias| alias.contains(term)) {
            Some(3)
        } else if self.hub.starts_with(term) {
            Some(4)
        } else if self.description.split(' ').any(|word| word.starts_with(term))
            || (term.contains(' ') && self.description.contains(term))
        {
            Some(5)
        } else {
            None
        }
    }
}

/// Something the catalog search can rank: an element on the server, a card in the browser.
pub trait Searchable {
    fn search_text(&self) -> &SearchText;
    fn name(&self) -> &str;
    fn hub(&self) -> &str;
    fn auth(&self) -> AuthType;
    fn popular(&self) -> bool;
}

/// The items that match `term` (any case), `hub` and `auth`, best first: by match quality, then popular
/// elements, then by name. The server and the console's search box both use it.
pub fn rank<'a, T: Searchable>(
    items: impl Iterator<Item = &'a T>,
    term: &str,
    hub: Option<&str>,
    auth: Option<AuthType>,
) -> Vec<&'a T> {
    let term = term.trim().to_lowercase();
    let mut matches: Vec<(u8, bool, &'a T)> = items
        .filter(|item| hub.is_none_or(|hub| item.hub() == hub))
        .filter(|item| auth.is_none_or(|auth| item.auth() == auth))
        .filter_map(|item| item.search_text().score(&term).map(|score| (score, !item.popular(), item)))
        .collect();
    matches.sort_by(|(score_a, rare_a, a), (score_b, rare_b, b)| {
        score_a.cmp(score_b).then(rare_a.cmp(rare_b)).then_with(|| compare_names(*a, *b))
    });
    matches.into_iter().map(|(_, _, item)| item).collect()
}

/// By name in any case, using the lower-case name kept in the search text; names equal but for case fall back to
/// their spelling, so the order never depends on the input's order.
fn compare_names<T: Searchable>(a: &T, b: &T) -> std::cmp::Ordering {
    a.search_text().name.cmp(&b.search_text().name).then_with(|| a.name().cmp(b.name()))
}

/// A card with its search text, for searching in the browser.
#[derive(Clone, Debug)]
pub struct IndexedCard {
    pub card: ElementCard,
    text: SearchText,
}

impl IndexedCard {
    pub fn new(card: ElementCard) -> IndexedCard {
        let text = SearchText::new(&card.key, &card.name, &card.hub, &card.description, &card.aliases);
        IndexedCard { card, text }
    }
}

impl Searchable for IndexedCard {
    fn search_text(&self) -> &SearchText {
        &self.text
    }
    fn name(&self) -> &str {
        &self.card.name
    }
    fn hub(&self) -> &str {
        &self.card.hub
    }
    fn auth(&self) -> AuthType {
        self.card.auth
    }
    fn popular(&self) -> bool {
        self.card.popular
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::ElementId;

    #[test]
    fn scores_prefer_exact_then_prefix_then_words() {
        let text = |key: &str, name: &str| SearchText::new(key, name, "crm", "", &[]);
        assert_eq!(text("hubspot", "HubSpot").score("hubspot"), Some(0));
        assert_eq!(text("sfdc", "Salesforce").score("sales"), Some(1));
        assert_eq!(text("googledrive", "Google Drive").score("drive"), Some(2));
        assert_eq!(text("pipedrive", "Pipedrive").score("drive"), Some(3));
        assert_eq!(text("acme", "Acme").score("crm"), Some(4));
        assert_eq!(text("acme", "Acme").score("zzz"), None);
        let aliased = SearchText::new("sfdc", "Salesforce", "crm", "", &["salesforce".to_owned()]);
        assert_eq!(aliased.score("salesforce"), Some(0));
    }

    #[test]
    fn the_words_every_description_shares_match_nothing() {
        let text = SearchText::new(
            "1password",
            "1Password (Events API)",
            "security",
            "Connects 1Password (Events API) accounts to the identity hub.",
            &[],
        );
        assert_eq!(text.score("hub"), None, "every description names a hub");
        assert_eq!(text.score("accounts"), None);
        assert_eq!(text.score("ident"), Some(5), "its own words still match, from their start");
        assert_eq!(text.score("dentity"), None);
        assert_eq!(text.score("identity"), Some(5));
        let github = SearchText::new("github", "GitHub", "code", "Connects GitHub accounts to the code hub.", &[]);
        assert_eq!(github.score("hub"), Some(3), "a name with the term still matches");
    }

    #[test]
    fn rank_orders_by_score_then_popularity_then_name() {
        let card = |key: &str, name: &str, popular: bool| {
            IndexedCard::new(ElementCard {
                id: ElementId(0),
                key: key.into(),
                name: name.into(),
                hub: "crm".into(),
                description: String::new(),
                image: None,
                initials: String::new(),
                auth: AuthType::OAuth2,
                popular,
                private: false,
                aliases: Vec::new(),
                instances: 0,
            })
        };
        let cards =
            [card("salesloft", "Salesloft", false), card("sfdc", "Salesforce", true), card("crmx", "Sales CRM", false)];
        let ranked: Vec<&str> = rank(cards.iter(), "Sales", None, None).iter().map(|c| c.card.key.as_str()).collect();
        assert_eq!(ranked, vec!["sfdc", "crmx", "salesloft"]);
        assert!(rank(cards.iter(), "", Some("documents"), None).is_empty());

        let unordered = [card("b", "banana", false), card("c", "Apple", false), card("a", "apple", false)];
        let by_name: Vec<&str> = rank(unordered.iter(), "", None, None).iter().map(|c| c.card.key.as_str()).collect();
        assert_eq!(by_name, vec!["c", "a", "b"], "any case, then spelling");
        assert!(rank(cards.iter(), "", None, Some(AuthType::Basic)).is_empty());
    }
}
