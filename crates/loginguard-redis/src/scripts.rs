//! The Lua scripts: `record.lua` (the rules of `loginguard_core::record`)
//! joined with the entry point of each step; `purge.lua` stands alone.

use redis::Script;

/// The scripts, hashed once per store.
#[derive(Debug)]
pub(crate) struct Scripts {
    /// `record::begin` on one key.
    pub(crate) begin: Script,
    /// `record::release` on one key.
    pub(crate) release: Script,
    /// Deletes one record if it has expired.
    pub(crate) purge: Script,
}

const BEGIN: &str = concat!(include_str!("record.lua"), "\n", include_str!("begin.lua"));
const RELEASE: &str = concat!(
    include_str!("record.lua"),
    "\n",
    include_str!("release.lua")
);
const PURGE: &str = include_str!("purge.lua");

impl Scripts {
    pub(crate) fn new() -> Scripts {
        Scripts {
            begin: Script::new(BEGIN),
            release: Script::new(RELEASE),
            purge: Script::new(PURGE),
        }
    }

    /// `SCRIPT LOAD` of every script, to run on each node.
    pub(crate) fn load_cmds() -> [redis::Cmd; 3] {
        [BEGIN, RELEASE, PURGE].map(|src| redis::cmd("SCRIPT").arg("LOAD").arg(src).clone())
    }
}
