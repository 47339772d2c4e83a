//! End-to-end tests: real Python programs (tests/scripts/) run through the dumper and the
//! binary, with their answers asserted. One test binary, so it links once.

mod bad_input;
mod capture;
mod edges;
mod files;
mod hostile;
mod interrupt;
mod launch;
mod queries;
mod render;
mod report;
mod util;
mod versions;
