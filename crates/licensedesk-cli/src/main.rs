//! ldctl (in progress)
fn main() {}
