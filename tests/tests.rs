//! End-to-end tests.

mod bad_input;
#[allow(dead_code)]
mod util;
