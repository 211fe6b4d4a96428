//! Shut the domain down and start it again, so that QEMU opens the sockets of its new
//! definition: ACPI shutdown first, and power-off only when the user allowed it.

use std::time::Duration;

use vhostuser::libvirt::Virsh;

/// How a restart went. On failure, `failure` says what happened and what state the domain is
/// left in.
#[derive(Debug, Default)]
pub(crate) struct Restarted {
    /// The domain was stopped (by shutdown or power-off).
    pub stopped: bool,
    /// It was powered off (`virsh destroy`) after the shutdown did not finish in time.
    pub forced_off: bool,
    /// It still runs with its old sockets.
    pub still_running_old: bool,
    pub failure: Option<String>,
}

/// How long a power-off may take to show in the domain's state.
const POWER_OFF_WAIT: Duration = Duration::from_secs(30);

pub(crate) fn restart(
    virsh: &Virsh,
    name: &str,
    shutdown_timeout: Duration,
    force_off: bool,
) -> Restarted {
    let mut done = Restarted::default();
    let shut_down = match virsh.shutdown(name) {
        Ok(()) => virsh
            .wait_inactive(name, shutdown_timeout)
            .map_err(|e| e.to_string()),
        // A refused request ends like an ignored one: powered off, since the user allowed it.
        Err(_) if force_off => Ok(false),
        Err(e) => Err(format!(
            "domain {name}: the shutdown request failed ({e}); it still runs with its old \
             sockets, and its new definition takes effect at its next start"
        )),
    };
    match shut_down {
        Ok(true) => done.stopped = true,
        Ok(false) if force_off => {
            if let Err(e) = virsh
                .destroy(name)
                .and_then(|()| virsh.wait_inactive(name, POWER_OFF_WAIT).map(drop))
            {
                done.still_running_old = true;
                done.failure = Some(format!(
                    "domain {name} did not shut down within {}s and powering it off failed: {e}",
                    shutdown_timeout.as_secs()
                ));
                return done;
            }
            done.stopped = true;
            done.forced_off = true;
        }
        Ok(false) => {
            done.still_running_old = true;
            done.failure = Some(format!(
                "domain {name} did not shut down within {}s of the shutdown request (ACPI): it \
                 still runs with its old sockets, and its new definition takes effect at its next \
                 start. Set force_off: true to power it off after shutdown_timeout, or shut the \
                 guest down from inside",
                shutdown_timeout.as_secs()
            ));
            return done;
        }
        Err(why) => {
            done.still_running_old = true;
            done.failure = Some(why);
            return done;
        }
    }
    if let Err(e) = virsh.start(name) {
        done.failure = Some(format!(
            "domain {name} was {} but did not start again: {e}. It is shut off with its new \
             definition: fix the cause and start it (virsh start {name})",
            if done.forced_off {
                "powered off"
            } else {
                "shut down"
            }
        ));
    }
    done
}
