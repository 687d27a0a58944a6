//! Java `SimpleDateFormat` patterns, as poller configurations write them (`yyyy-MM-dd'T'HH:mm:ss'Z'`), turned
//! into chrono formats: to fill `${gmtDate:…}` in a poll URL and to read the dates of the objects polled.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Utc};

/// A checked Java date pattern, kept as the chrono format it stands for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JavaDatePattern {
    strftime: String,
    has_offset: bool,
    has_time: bool,
}

/// A date read with a pattern: either a moment, when the text carries its offset, or a wall-clock time that the
/// resource's timezone places.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadDate {
    Moment(DateTime<FixedOffset>),
    WallClock(NaiveDateTime),
}

/// How many times `letter` repeats from the start of `chars`.
fn run_length(chars: &[char], letter: char) -> usize {
    chars.iter().take_while(|c| **c == letter).count()
}

impl JavaDatePattern {
    /// Translates `pattern`, refusing letters and widths chrono cannot honour.
    pub fn parse(pattern: &str) -> Result<JavaDatePattern, String> {
        if pattern.trim().is_empty() {
            return Err("is an empty date pattern".into());
        }
        let chars: Vec<char> = pattern.chars().collect();
        let (mut out, mut has_offset, mut has_time, mut has_year) = (String::new(), false, false, false);
        let mut index = 0;
        while index < chars.len() {
            let letter = chars[index];
            if letter == '\'' {
                let (literal, next) = quoted(&chars, index).ok_or("has a quote that is never closed")?;
                out.push_str(&literal.replace('%', "%%"));
                index = next;
                continue;
            }
            if !letter.is_ascii_alphabetic() {
                if letter == '%' {
                    out.push_str("%%")
                } else {
                    out.push(letter)
                }
                index += 1;
                continue;
            }
            let width = run_length(&chars[index..], letter);
            let item = match (letter, width) {
                ('y' | 'u', 2) => "%y",
                ('y' | 'u', _) => "%Y",
                ('M', 1) => "%-m",
                ('M', 2) => "%m",
                ('M', 3) => "%b",
                ('M', _) => "%B",
                ('d', 1) => "%-d",
                ('d', _) => "%d",
                ('H', 1) => "%-H",
                ('H', _) => "%H",
                ('h', 1) => "%-I",
                ('h', _) => "%I",
                ('m', 1) => "%-M",
                ('m', _) => "%M",
                ('s', 1) => "%-S",
                ('s', _) => "%S",
                ('S', 3) => "%3f",
                ('S', 6) => "%6f",
                ('S', 9) => "%9f",
                ('S', _) => return Err("writes fractions of a second as SSS, SSSSSS or SSSSSSSSS".into()),
                ('a', _) => "%p",
                ('E', 1..=3) => "%a",
                ('E', _) => "%A",
                ('D', _) => "%j",
                ('Z', _) | ('X', 1 | 2) | ('x', 1 | 2) => "%z",
                ('X' | 'x', 3) => "%:z",
                (other, _) => return Err(format!("uses the pattern letter `{other}`, which is not supported")),
            };
            has_year |= matches!(letter, 'y' | 'u');
            has_time |= matches!(letter, 'H' | 'h' | 'm' | 's');
            has_offset |= matches!(letter, 'Z' | 'X' | 'x');
            out.push_str(item);
            index += width;
        }
        if !has_year {
            return Err("has no year (y)".into());
        }
        Ok(JavaDatePattern { strftime: out, has_offset, has_time })
    }

    /// Writes `at` as the pattern says.
    pub fn format(&self, at: &DateTime<Utc>) -> String {
        at.format(&self.strftime).to_string()
    }

    /// Reads `text` written in this pattern.
    pub fn read(&self, text: &str) -> Option<ReadDate> {
        let text = text.trim();
        if self.has_offset {
            return DateTime::parse_from_str(text, &self.strftime).ok().map(ReadDate::Moment);
        }
        if self.has_time {
            return NaiveDateTime::parse_from_str(text, &self.strftime).ok().map(ReadDate::WallClock);
        }
        NaiveDate::parse_from_str(text, &self.strftime)
            .ok()
            .map(|day| ReadDate::WallClock(day.and_time(NaiveTime::MIN)))
    }
}

/// The text of the quoted run starting at `start` (`''` is one quote) and the index after it.
fn quoted(chars: &[char], start: usize) -> Option<(String, usize)> {
    if chars.get(start + 1) == Some(&'\'') {
        return Some(("'".into(), start + 2));
    }
    let mut literal = String::new();
    let mut index = start + 1;
    while index < chars.len() {
        match (chars[index], chars.get(index + 1)) {
            ('\'', Some('\'')) => {
                literal.push('\'');
                index += 2;
            }
            ('\'', _) => return Some((literal, index + 1)),
            (other, _) => {
                literal.push(other);
                index += 1;
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 7, 14, 5, 9).unwrap() + chrono::Duration::milliseconds(42)
    }

    #[test]
    fn patterns_write_as_java_would() {
        let cases = [
            ("yyyy-MM-dd'T'HH:mm:ss'Z'", "2026-03-07T14:05:09Z"),
            ("yyyy-MM-dd'T'HH:mm:ss.SSSXXX", "2026-03-07T14:05:09.042+00:00"),
            ("dd/MM/yyyy hh:mm a", "07/03/2026 02:05 PM"),
            ("EEE, d MMM yyyy HH:mm:ss Z", "Sat, 7 Mar 2026 14:05:09 +0000"),
            ("yyyyMMdd", "20260307"),
            ("yyyy 'o''clock' H", "2026 o'clock 14"),
            ("yyyy'%'MM", "2026%03"),
        ];
        for (pattern, expected) in cases {
            assert_eq!(JavaDatePattern::parse(pattern).unwrap().format(&at()), expected, "{pattern}");
        }
    }

    #[test]
    fn dates_read_back_with_and_without_an_offset() {
        let offset = JavaDatePattern::parse("yyyy-MM-dd'T'HH:mm:ssXXX").unwrap();
        let ReadDate::Moment(moment) = offset.read("2026-03-07T09:05:09-05:00").unwrap() else { panic!() };
        assert_eq!(moment.with_timezone(&Utc), Utc.with_ymd_and_hms(2026, 3, 7, 14, 5, 9).unwrap());
        let wall = JavaDatePattern::parse("dd/MM/yyyy HH:mm:ss").unwrap();
        assert_eq!(
            wall.read("07/03/2026 14:05:09"),
            Some(ReadDate::WallClock(at().naive_utc().with_nanosecond_zero()))
        );
        let day = JavaDatePattern::parse("yyyy-MM-dd").unwrap();
        assert!(matches!(day.read("2026-03-07"), Some(ReadDate::WallClock(_))));
        assert_eq!(wall.read("2026-03-07"), None);
    }

    #[test]
    fn bad_patterns_are_refused_with_the_reason() {
        for (pattern, reason) in [
            ("", "empty"),
            ("yyyy-MM-dd'T", "quote"),
            ("yyyy-MM-dd Q", "`Q`"),
            ("HH:mm", "year"),
            ("yyyy SS", "fractions"),
        ] {
            let error = JavaDatePattern::parse(pattern).unwrap_err();
            assert!(error.contains(reason), "{pattern}: {error}");
        }
    }

    trait NanosecondZero {
        fn with_nanosecond_zero(self) -> Self;
    }

    impl NanosecondZero for NaiveDateTime {
        fn with_nanosecond_zero(self) -> Self {
            chrono::Timelike::with_nanosecond(&self, 0).unwrap()
        }
    }
}
