//! The client against the real server.

mod retry;
