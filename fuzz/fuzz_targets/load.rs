//! Fuzzes the TOSCA loader's front door on arbitrary bytes: whatever a file holds, the loader
//! answers with a value or a problem, never a panic, a hang or a crash.
#![no_main]

use libfuzzer_sys::fuzz_target;

use khutulun::tosca::source::FileId;
use khutulun::tosca::yaml;

fuzz_target!(|data: &[u8]| {
    // A file that is not UTF-8 is refused before parsing; the parser sees only text.
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = yaml::parse(text, FileId(0));
    }
});
