//! This gateway's identity: its machine id and hardware fingerprint.

use licensedesk_core::fingerprint::fingerprint;

use crate::MachineArgs;
use crate::output::Failure;
use crate::store::read_capped;

/// The application id the fingerprint is derived for: a machine has one
/// fingerprint per application, and the machine id itself is never shown.
pub const APP_ID: &str = "licensedesk-edge";

/// Reads the machine id: `--machine-id`, `$LDCTL_MACHINE_ID`, or the file.
pub fn machine_id(args: &MachineArgs) -> Result<Vec<u8>, Failure> {
    if let Some(id) = &args.machine_id {
        return non_empty(id.as_bytes().to_vec());
    }
    if let Some(id) = std::env::var_os("LDCTL_MACHINE_ID") {
        return non_empty(id.into_encoded_bytes());
    }
    non_empty(read_capped(&args.machine_id_file, 4096).map_err(|f| {
        Failure::new(
            "MACHINE_ID_UNAVAILABLE",
            format!(
                "{}; in a container pass --machine-id or set LDCTL_MACHINE_ID",
                f.message
            ),
        )
    })?)
}

fn non_empty(id: Vec<u8>) -> Result<Vec<u8>, Failure> {
    if id.iter().all(u8::is_ascii_whitespace) {
        return Err(Failure::new(
            "MACHINE_ID_UNAVAILABLE",
            "the machine id is empty: pass --machine-id or set LDCTL_MACHINE_ID",
        ));
    }
    Ok(id)
}

/// This gateway's hardware fingerprint.
pub fn this_fingerprint(args: &MachineArgs) -> Result<String, Failure> {
    Ok(fingerprint(&machine_id(args)?, APP_ID))
}
