//! Fuzzes the TOSCA loader on arbitrary bytes: whatever a file holds, the processor answers
//! with a report (valid, or problems with positions), never a panic, a hang or a crash.
#![no_main]

use libfuzzer_sys::fuzz_target;

use khutulun::tosca::{Options, validate_text};

fuzz_target!(|data: &[u8]| {
    // A file that is not UTF-8 is refused before parsing; the processor sees only text.
    if let Ok(text) = std::str::from_utf8(data) {
        let report = validate_text("fuzz.yaml", text, &Options::default());
        let _ = report.render_text();
    }
});
