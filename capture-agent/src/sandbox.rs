//! The sandbox a safe restore of a foreign snapshot runs in: a Landlock
//! ruleset (Linux 5.13+) on this process and every thread and child it
//! starts afterwards. Reading stays allowed everywhere; writing, creating,
//! removing and renaming files only beneath a scratch directory (and the
//! terminal devices); `execve` nowhere; TCP bind/connect nowhere (ABI 4+);
//! no signals to and no abstract UNIX sockets of processes outside it
//! (ABI 6+). It cannot be lifted: the restore process ends with it.

use landlock::{
    path_beneath_rules, Access, AccessFs, AccessNet, BitFlags, LandlockStatus, Ruleset,
    RulesetAttr, RulesetCreatedAttr, RulesetError, RulesetStatus, Scope, ABI,
};
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

create_exception!(
    _native,
    SandboxError,
    PyException,
    "The Landlock sandbox is not available here (or could not be applied)."
);

/// The newest ABI the rules are written for; older kernels enforce what
/// they know (best effort), newer ones this much.
const ABI_WANTED: ABI = ABI::V7;

/// Devices a prompt writes to besides its already open descriptors.
const DEVICES: [&str; 3] = ["/dev/null", "/dev/tty", "/dev/pts"];

fn restrict(scratch: &str) -> Result<landlock::RestrictionStatus, RulesetError> {
    let abi = ABI_WANTED;
    let all = AccessFs::from_all(abi);
    let read: BitFlags<AccessFs> = AccessFs::ReadFile | AccessFs::ReadDir;
    let scratch_access = all & !BitFlags::from(AccessFs::Execute);
    let devices: Vec<&str> = DEVICES
        .into_iter()
        .filter(|p| std::path::Path::new(p).exists())
        .collect();
    Ruleset::default()
        .handle_access(all)?
        .handle_access(AccessNet::from_all(abi))?
        .scope(Scope::from_all(abi))?
        .create()?
        .add_rules(path_beneath_rules(["/"], read))?
        .add_rules(path_beneath_rules([scratch], scratch_access))?
        .add_rules(path_beneath_rules(devices, read | AccessFs::WriteFile))?
        .restrict_self()
}

/// Puts this process in the sandbox, with `scratch` (an existing
/// directory) the only place it may write. Returns the Landlock ABI
/// enforced; raises SandboxError where Landlock is missing or enforces
/// nothing (the caller then refuses what needed the sandbox).
#[pyfunction]
fn sandbox(scratch: &str) -> PyResult<u32> {
    if !std::path::Path::new(scratch).is_dir() {
        return Err(SandboxError::new_err(format!(
            "the scratch directory {scratch} does not exist"
        )));
    }
    let status = restrict(scratch)
        .map_err(|e| SandboxError::new_err(format!("Landlock refused the ruleset: {e}")))?;
    let abi = match status.landlock {
        LandlockStatus::Available { effective_abi, .. } => effective_abi as u32,
        LandlockStatus::NotEnabled => {
            return Err(SandboxError::new_err(
                "Landlock is built into this kernel but not enabled (add `landlock` to the lsm= boot parameter)",
            ))
        }
        LandlockStatus::NotImplemented => {
            return Err(SandboxError::new_err(
                "this kernel has no Landlock (Linux 5.13 or later with CONFIG_SECURITY_LANDLOCK)",
            ))
        }
    };
    if status.ruleset == RulesetStatus::NotEnforced {
        return Err(SandboxError::new_err(
            "Landlock enforced none of the sandbox's rules",
        ));
    }
    Ok(abi)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(sandbox, m)?)?;
    m.add("SandboxError", m.py().get_type::<SandboxError>())?;
    Ok(())
}
