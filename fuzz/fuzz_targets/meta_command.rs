//! Fuzz target for meta commands (`sluice::meta::MetaCommand`, the payload of every meta
//! Raft log entry): any bytes decode to a command or an error, never a panic or an
//! allocation the input can drive past its own size; whatever decodes encodes back to the
//! same bytes' command, and applying it to a fresh state and to a state holding a database
//! never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice::meta::{apply, MetaCommand, MetaData, RetentionPolicySpec};

fuzz_target!(|data: &[u8]| {
    let Ok(command) = MetaCommand::decode(data) else {
        return;
    };
    let again = MetaCommand::decode(&command.encode());
    assert_eq!(again.as_ref(), Ok(&command), "decode(encode(x)) != x");
    let mut fresh = MetaData::fresh();
    let _ = apply(&mut fresh, &command);
    let mut with_database = MetaData::fresh();
    let create = MetaCommand::CreateDatabase {
        name: "db".into(),
        spec: RetentionPolicySpec::default(),
    };
    apply(&mut with_database, &create).expect("a fresh database");
    let _ = apply(&mut with_database, &command);
});
