//! Telling people: notices about instances by mail, and sign-in codes by text message.

pub mod notify;
pub mod sms;
