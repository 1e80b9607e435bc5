//! The Lua scripts: `record.lua` (the rules of `loginguard_core::record`;
//! `give_back.lua` adds `record::release`) joined with the entry point of
//! each step (`begin_all.lua` has its start, `begin_new.lua`, before them);
//! `purge.lua` stands alone.

use redis::Script;

/// The scripts, hashed once per store.
#[derive(Debug)]
pub(crate) struct Scripts {
    /// `record::begin` on one key.
    pub(crate) begin: Script,
    /// `batch::begin_records` on the keys of one attempt.
    pub(crate) begin_all: Script,
    /// `record::release` on each key given.
    pub(crate) release: Script,
    /// Deletes one record if it has expired.
    pub(crate) purge: Script,
}

impl Scripts {
    pub(crate) fn new() -> Scripts {
        Scripts {
            begin: Script::new(concat!(
                include_str!("record.lua"),
                "\n",
                include_str!("begin.lua")
            )),
            begin_all: Script::new(concat!(
                include_str!("begin_new.lua"),
                "\n",
                include_str!("record.lua"),
                "\n",
                include_str!("give_back.lua"),
                "\n",
                include_str!("begin_all.lua")
            )),
            release: Script::new(concat!(
                include_str!("record.lua"),
                "\n",
                include_str!("give_back.lua"),
                "\n",
                include_str!("release_all.lua")
            )),
            purge: Script::new(include_str!("purge.lua")),
        }
    }

    /// Every script, to load on each node.
    pub(crate) fn all(&self) -> [&Script; 4] {
        [&self.begin, &self.begin_all, &self.release, &self.purge]
    }
}
