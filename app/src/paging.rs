//! Paging, one rule for every listing of both doors: `page` counts from 1, and `pageSize` is 1 to
//! [`MAX_PAGE_SIZE`], [`DEFAULT_PAGE_SIZE`] when not given. A value outside is refused, never clamped.

use crate::error::HubError;

/// How many items a page holds when the caller does not say.
pub const DEFAULT_PAGE_SIZE: u32 = 200;
/// The most items one page holds.
pub const MAX_PAGE_SIZE: u32 = 1000;

/// A checked page of a listing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Page {
    number: u32,
    size: u32,
}

impl Page {
    /// Checks a listing's `page` and `pageSize`, as given, against the one rule.
    pub fn of(page: Option<u32>, page_size: Option<u32>) -> Result<Page, HubError> {
        let number = page.unwrap_or(1);
        if number == 0 {
            return Err(HubError::BadRequest("page: starts at 1".into()));
        }
        let size = page_size.unwrap_or(DEFAULT_PAGE_SIZE);
        if !(1..=MAX_PAGE_SIZE).contains(&size) {
            return Err(HubError::BadRequest(format!("pageSize: must be 1 to {MAX_PAGE_SIZE}")));
        }
        Ok(Page { number, size })
    }

    pub fn number(self) -> u32 {
        self.number
    }

    pub fn size(self) -> u32 {
        self.size
    }

    /// How many items come before this page.
    pub fn offset(self) -> u64 {
        u64::from(self.number - 1) * u64::from(self.size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_rule_for_every_listing() {
        assert_eq!(Page::of(None, None).unwrap(), Page { number: 1, size: DEFAULT_PAGE_SIZE });
        let third = Page::of(Some(3), Some(10)).unwrap();
        assert_eq!((third.number(), third.size(), third.offset()), (3, 10, 20));
        assert_eq!(Page::of(None, Some(MAX_PAGE_SIZE)).unwrap().size(), 1000);
        for (page, size, message) in [
            (Some(0), None, "page: starts at 1"),
            (None, Some(0), "pageSize: must be 1 to 1000"),
            (None, Some(1001), "pageSize: must be 1 to 1000"),
        ] {
            assert_eq!(Page::of(page, size).unwrap_err().to_string(), message);
        }
    }
}
