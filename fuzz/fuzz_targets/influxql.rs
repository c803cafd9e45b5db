//! Fuzz target: the InfluxQL parser must never panic, and any query it accepts must print
//! to text that parses back to an equal query.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice::influxql::parse_query;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(query) = parse_query(text) {
        let printed = query.to_string();
        match parse_query(&printed) {
            Ok(reparsed) => assert_eq!(reparsed, query, "BUG: reprint {printed:?} differs"),
            Err(error) => panic!("BUG: reprint {printed:?} of {text:?} fails: {error}"),
        }
    }
});
