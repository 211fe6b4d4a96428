//! The `next_cfg`/`cur_cfg` handshake: how a writer learns that ovs-vswitchd has applied its
//! change (what `ovs-vsctl` does unless given `--no-wait`).
//!
//! The writer bumps `Open_vSwitch.next_cfg` in the same transaction as its change; ovs-vswitchd
//! copies `next_cfg` to `cur_cfg` once it has reconfigured. Usage:
//!
//! 1. append [`bump_next_cfg`]'s two operations to the transaction (last, so that
//!    [`next_cfg`] finds the select at the end);
//! 2. `let target = next_cfg(&results)?;`
//! 3. `wait_applied(&mut client, target, timeout)?`.
//!
//! A [`Error::NotApplied`] from step 3 does not undo step 1: the change is in the database and
//! ovs-vswitchd picks it up when it runs. Report it as "committed, not yet applied", never as
//! "not changed" (the `openvswitch_db` module's mistake). Skip step 3 when no ovs-vswitchd is
//! meant to run, as `ovs-vsctl --no-wait` does.

use std::thread;
use std::time::{Duration, Instant};

use super::{Client, Error, Mutation, OpResult, Operation};

const DATABASE: &str = "Open_vSwitch";
const TABLE: &str = "Open_vSwitch";
const FIRST_PAUSE: Duration = Duration::from_millis(10);
const LONGEST_PAUSE: Duration = Duration::from_millis(200);

/// `next_cfg += 1` on the root row, then a select that reads the new value back.
#[must_use]
pub fn bump_next_cfg() -> [Operation; 2] {
    [
        Operation::mutate(TABLE, &[], &[Mutation::add("next_cfg", 1)]),
        Operation::select(TABLE, &[], &["next_cfg"]),
    ]
}

/// The `next_cfg` read back by the select of [`bump_next_cfg`], the last result.
pub fn next_cfg(results: &[OpResult]) -> Result<i64, Error> {
    match results.last().map(|r| r.rows.as_slice()) {
        Some([row]) => row.integer("next_cfg"),
        rows => Err(Error::Column {
            column: "next_cfg".to_owned(),
            expected: "the one row of the Open_vSwitch table, selected last",
            found: match rows {
                Some([]) => {
                    "no row: the database was never initialised (ovs-vsctl init)".to_owned()
                }
                Some(rows) => format!("{} rows", rows.len()),
                None => "no results".to_owned(),
            },
        }),
    }
}

/// Polls `cur_cfg` until it reaches `next_cfg`, and returns it. Gives up with
/// [`Error::NotApplied`] once `timeout` has passed; since a poll in flight is allowed to finish,
/// that takes at most `timeout` plus the client's own timeout.
pub fn wait_applied(client: &mut Client, next_cfg: i64, timeout: Duration) -> Result<i64, Error> {
    let started = Instant::now();
    let read = [Operation::select(TABLE, &[], &["cur_cfg"])];
    let mut pause = FIRST_PAUSE;
    loop {
        let results = client.transact(DATABASE, &read)?;
        let cur_cfg = match results.first().map(|r| r.rows.as_slice()) {
            Some([row]) => row.integer("cur_cfg")?,
            _ => 0,
        };
        if cur_cfg >= next_cfg {
            return Ok(cur_cfg);
        }
        let left = timeout.saturating_sub(started.elapsed());
        if left.is_zero() {
            return Err(Error::NotApplied {
                next_cfg,
                cur_cfg,
                waited: started.elapsed(),
            });
        }
        thread::sleep(pause.min(left));
        pause = (pause * 2).min(LONGEST_PAUSE);
    }
}
