//! The console's listing of an organization's instances: searched, filtered by element and health, ordered and
//! paged in the database, with the count of every match.

use super::instances::{COLUMNS, InstanceRecord, record_from_row};
use super::{Store, StoreResult, placeholders};
use app::catalog::ElementId;
use app::instance_table::{HealthFilter, InstanceSort};
use app::instances::InstanceId;
use app::types::OrganizationId;

/// What the listing matches.
#[derive(Clone, Debug, Default)]
pub struct InstanceTableFilter {
    /// Matched, in any case, within names, tags and end users' ids and emails.
    pub search: Option<String>,
    /// Elements whose key or name the search matched: their instances match too.
    pub search_elements: Vec<ElementId>,
    pub element: Option<ElementId>,
    pub health: Option<HealthFilter>,
    pub only: Option<InstanceId>,
}

/// `text` as a `LIKE … ESCAPE '\'` pattern that finds it anywhere, lower-cased.
fn contains_pattern(text: &str) -> String {
    let mut pattern = String::from("%");
    for character in text.to_lowercase().chars() {
        if matches!(character, '\\' | '%' | '_') {
            pattern.push('\\');
        }
        pattern.push(character);
    }
    pattern.push('%');
    pattern
}

/// Bound values of the listing's query, in placeholder order.
enum Bound {
    Number(i64),
    Text(String),
}

impl Store {
    /// The listing's `limit` instances after `offset`, in `sort` order, and how many match in all.
    pub async fn instance_table(
        &self,
        organization: OrganizationId,
        filter: &InstanceTableFilter,
        sort: InstanceSort,
        offset: i64,
        limit: i64,
    ) -> StoreResult<(Vec<InstanceRecord>, i64)> {
        let mut values = vec![Bound::Number(organization.0)];
        let mut conditions = vec!["organization_id = $1".to_owned()];
        if let Some(only) = filter.only {
            values.push(Bound::Number(only.0));
            conditions.push(format!("id = ${}", values.len()));
        }
        if let Some(element) = filter.element {
            values.push(Bound::Number(element.0));
            conditions.push(format!("element_id = ${}", values.len()));
        }
        if let Some(health) = filter.health {
            conditions.push(
                match health {
                    HealthFilter::Healthy => "disabled = 0 AND valid = 1 AND refresh_failures = 0",
                    HealthFilter::Failing => "disabled = 0 AND valid = 1 AND refresh_failures > 0",
                    HealthFilter::Invalid => "disabled = 0 AND valid = 0",
                    HealthFilter::Disabled => "disabled = 1",
                }
                .to_owned(),
            );
        }
        if let Some(search) = filter.search.as_deref().filter(|search| !search.is_empty()) {
            values.push(Bound::Text(contains_pattern(search)));
            let pattern = values.len();
            let mut matches: Vec<String> =
                ["name", "tags", "COALESCE(end_user_id, '')", "COALESCE(end_user_email, '')"]
                    .iter()
                    .map(|column| format!("LOWER({column}) LIKE ${pattern} ESCAPE '\\'"))
                    .collect();
            if !filter.search_elements.is_empty() {
                let first = values.len() + 1;
                values.extend(filter.search_elements.iter().map(|element| Bound::Number(element.0)));
                matches.push(format!("element_id IN ({})", placeholders(first, filter.search_elements.len())));
            }
            conditions.push(format!("({})", matches.join(" OR ")));
        }
        let condition = conditions.join(" AND ");
        let order = match sort {
            InstanceSort::Newest => "id DESC",
            InstanceSort::Oldest => "id",
            InstanceSort::Name => "LOWER(name), id",
            InstanceSort::NameDescending => "LOWER(name) DESC, id DESC",
        };
        let bind_all = |sql: String| {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for value in &values {
                query = match value {
                    Bound::Number(number) => query.bind(*number),
                    Bound::Text(text) => query.bind(text.clone()),
                };
            }
            query
        };
        let (limit_at, offset_at) = (values.len() + 1, values.len() + 2);
        let page_sql = format!(
            "SELECT {COLUMNS} FROM instances WHERE {condition} ORDER BY {order} LIMIT ${limit_at} OFFSET ${offset_at}"
        );
        let rows = bind_all(page_sql).bind(limit).bind(offset).fetch_all(self.pool()).await?;
        let records = rows.iter().map(record_from_row).collect::<Result<Vec<_>, _>>()?;
        let count_sql = format!("SELECT COUNT(*) FROM instances WHERE {condition}");
        let total: i64 = sqlx::Row::try_get(&bind_all(count_sql).fetch_one(self.pool()).await?, 0)?;
        Ok((records, total))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_text_is_matched_literally() {
        assert_eq!(contains_pattern("Acme"), "%acme%");
        assert_eq!(contains_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
    }
}
