//! What every JSON document hasim writes begins with: the version of its schema (the files
//! in `docs/schema/`) and the version of hasim that wrote it, so that a script can pin
//! both.
//!
//! A document's `schema_version` changes only when a field it had is removed, renamed or
//! changes meaning; new fields may appear within a version. Parts (`hasim run --shard`)
//! number their own format, which is their schema version ([`crate::estimate::shard::FORMAT`]).

use serde::Serialize;

/// The schema version of every document but parts.
pub const SCHEMA_VERSION: u32 = 1;

/// The version of hasim, as `hasim --version` prints it first.
pub const HASIM_VERSION: &str = env!("CARGO_PKG_VERSION");

/// A document with its versions before its own fields.
#[derive(Serialize)]
pub struct Stamped<T> {
    schema_version: u32,
    hasim_version: &'static str,
    #[serde(flatten)]
    body: T,
}

/// `body` (which serialises as a JSON object) with the versions first.
pub fn stamped<T: Serialize>(body: T) -> Stamped<T> {
    Stamped {
        schema_version: SCHEMA_VERSION,
        hasim_version: HASIM_VERSION,
        body,
    }
}

/// The document as hasim prints it to people and scripts: indented, one newline at the end.
pub fn pretty<T: Serialize>(body: T) -> String {
    serde_json::to_string_pretty(&stamped(body)).expect("a document serialises") + "\n"
}

/// The document as one line (JSON Lines: sweep rows, calibration logs).
pub fn line<T: Serialize>(body: T) -> String {
    serde_json::to_string(&stamped(body)).expect("a document serialises")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Doc {
        a: u32,
        #[serde(skip_serializing_if = "Option::is_none")]
        b: Option<u32>,
    }

    #[test]
    fn versions_come_first_and_fields_follow_in_order() {
        assert_eq!(
            line(Doc { a: 1, b: None }),
            format!(r#"{{"schema_version":1,"hasim_version":"{HASIM_VERSION}","a":1}}"#)
        );
        let v: serde_json::Value = serde_json::from_str(&pretty(Doc { a: 1, b: Some(2) })).unwrap();
        assert_eq!(v["b"], 2);
        assert_eq!(v["schema_version"], SCHEMA_VERSION);
    }
}
