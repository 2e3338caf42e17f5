//! Segment-spec product analytics adapter (issue 3, in progress): signature check. Message
//! parsing, per-(account, day) aggregation and the usage part of the record follow.

pub mod signature;
