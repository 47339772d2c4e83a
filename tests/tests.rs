//! End-to-end tests: real Python programs (tests/scripts/) run through the dumper and the
//! binary, with their answers asserted. One test binary, so it links once.

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod attach;
mod bad_input;
mod binfmt;
mod capture;
mod edges;
mod files;
mod hostile;
mod interrupt;
mod launch;
mod memory;
mod native;
mod newuser;
mod objgraph;
mod queries;
mod readme;
mod render;
mod report;
mod sites;
mod steady;
mod util;
mod versions;
