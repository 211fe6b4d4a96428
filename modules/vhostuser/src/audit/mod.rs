//! The audit: facts about one node, the checks that judge them, the pairing table and the
//! node's verdict. Collection (`collect`) is the only part with I/O.

pub mod checks;
pub mod collect;
pub mod domains;
pub mod facts;
pub mod finding;
pub mod live_swap;
pub mod pairing;
pub mod severity;
pub mod source;
pub mod verdict;

pub use facts::Facts;
pub use finding::{Finding, FindingGroup, Severity};
pub use source::Source;
