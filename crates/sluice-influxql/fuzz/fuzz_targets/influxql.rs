//! Fuzz target: the InfluxQL parser must never panic, and any query it accepts must print
//! to text that parses back to an equal query.
//!
//! Run with the keyword dictionary and the recorded corpus queries as seeds:
//!
//! ```text
//! mkdir -p corpus/influxql
//! split -l 1 -d -a 4 ../tests/influxql/queries.txt corpus/influxql/seed-
//! RUSTC_BOOTSTRAP=1 cargo fuzz run influxql -- -dict=influxql.dict -max_total_time=600
//! ```
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_influxql::parse_query;

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
