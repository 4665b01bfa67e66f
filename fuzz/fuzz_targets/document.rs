//! Fuzzes store documents: a file's bytes read as each record type the store reads are the
//! record or an error naming the file, never a panic.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

use khutulun::state::document::parse;
use khutulun::state::records::{HostRecord, InstanceRecord, PlanRecord, ServiceRecord};

fuzz_target!(|data: &[u8]| {
    let path = Path::new("/store/fuzz.yaml");
    let errors = [
        parse::<ServiceRecord>(path, data).err(),
        parse::<InstanceRecord>(path, data).err(),
        parse::<PlanRecord>(path, data).err(),
        parse::<HostRecord>(path, data).err(),
    ];
    for error in errors.into_iter().flatten() {
        assert!(error.to_string().contains("fuzz.yaml"));
    }
});
