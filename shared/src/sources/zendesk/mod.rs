//! Zendesk adapter (issue 3, in progress): signature check. Ticket parsing and the support part
//! of the record follow.

pub mod signature;
