//! Fuzzes the Java date-pattern translator: the first line is a pattern, the rest a date to read with it. A
//! pattern is refused or translated; a translated one formats any moment and reads any text without a panic.
#![no_main]

use app::events::java_date::JavaDatePattern;
use chrono::{TimeZone, Utc};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &str| {
    let (pattern, text) = input.split_once('\n').unwrap_or((input, ""));
    let Ok(pattern) = JavaDatePattern::parse(pattern) else { return };
    for moment in [Utc::now(), Utc.with_ymd_and_hms(1, 1, 1, 0, 0, 0).unwrap(), Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap()] {
        let written = pattern.format(&moment);
        let _ = pattern.read(&written);
    }
    let _ = pattern.read(text);
});
