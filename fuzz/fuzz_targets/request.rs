//! Fuzzes the control protocol: a request line, as the agent's server reads it, is either a
//! request with the right token or a failure saying why, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

use khutulun::control::server::parse_request;

fuzz_target!(|data: &[u8]| {
    // The server reads a line of text; bytes that are not UTF-8 never reach the parser.
    if let Ok(line) = std::str::from_utf8(data) {
        if let Err(failure) = parse_request(line, "fuzz-token") {
            assert!(!failure.message.is_empty());
        }
    }
});
