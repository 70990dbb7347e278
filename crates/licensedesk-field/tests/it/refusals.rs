//! Refusals, each with its code, and nothing written: beyond N, after the
//! certificate expired, clock set back by more than an hour, a request for
//! another order, an oversized file, a bad fingerprint.

use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use licensedesk_core::Coded as _;
use licensedesk_field::{Kit, checkout};

use crate::support::{Server, by_order, fingerprint, request_file, t0};

/// Issues `n` at `now` into `out` and expects `code`; checks that neither
/// the ledger, the clock mark nor the output directory changed.
fn refused(kit: &mut Kit, id: &str, out: &Path, n: u32, now: DateTime<Utc>, code: &str) {
    let ledger = kit.ledger(id).expect("ledger");
    let mark = kit.clock_mark().expect("mark");
    let files = std::fs::read_dir(out).expect("out").count();
    let err = kit
        .issue_to_file(id, &fingerprint(n), out, now)
        .expect_err("refused");
    assert_eq!(err.code(), code, "{err}");
    assert!(!err.to_string().is_empty());
    assert_eq!(
        kit.ledger(id).expect("ledger"),
        ledger,
        "{code}: ledger unchanged"
    );
    assert_eq!(
        kit.clock_mark().expect("mark"),
        mark,
        "{code}: mark unchanged"
    );
    assert_eq!(
        std::fs::read_dir(out).expect("out").count(),
        files,
        "{code}: no file"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_carry_their_code_and_write_nothing() {
    let tmp = tempfile::tempdir().expect("tmp");
    let server = Server::start(&tmp.path().join("server"), t0()).await;
    let token = server.account_with_order(10).await;
    let kit_dir = tmp.path().join("kit");
    let mut kit = Kit::open(&kit_dir).expect("kit");
    let a = checkout(&mut kit, &server.base, &token, &by_order(), 2, 7, t0())
        .await
        .expect("checkout");
    server.stop().await;
    let id = a.allotment_id.clone();
    let out = tmp.path().join("out");
    std::fs::create_dir_all(&out).expect("out");

    let two_hours = t0() + Duration::hours(2);
    kit.issue_to_file(&id, &fingerprint(1), &out, two_hours)
        .expect("first");
    // The clock set back by 90 minutes (more than the hour allowed).
    refused(
        &mut kit,
        &id,
        &out,
        2,
        two_hours - Duration::minutes(90),
        "CLOCK_SET_BACK",
    );
    // Set back by 30 minutes is within the guard's tolerance.
    kit.issue(&id, &fingerprint(1), two_hours - Duration::minutes(30))
        .expect("small setback tolerated");
    // After the certificate's not_after.
    let late = a.not_after + Duration::minutes(1);
    refused(&mut kit, &id, &out, 2, late, "DELEGATE_CERT_EXPIRED");
    refused(&mut kit, &id, &out, 1, late, "DELEGATE_CERT_EXPIRED");
    kit.issue_to_file(&id, &fingerprint(2), &out, two_hours)
        .expect("second");
    // Beyond N.
    refused(
        &mut kit,
        &id,
        &out,
        3,
        two_hours,
        "LEDGER_ALLOTMENT_EXHAUSTED",
    );
    let summary = kit.summary(&id, two_hours).expect("summary");
    assert_eq!((summary.issued, summary.remaining), (2, 0));
    let expired = kit.summary(&id, late).expect("summary");
    assert!(expired.expired);
    assert_eq!(expired.expires_in_secs, 0);
    assert!(summary.expires_in_secs > 0 && !summary.expired);

    // Bad input: a request for another order, an oversized file, a typo.
    let other = request_file(tmp.path(), "other.json", &[3], "ORD-OTHER");
    let err = kit
        .issue_requests(&id, &[other], &out, two_hours)
        .expect_err("other order");
    assert_eq!(err.code(), "FIELD_REQUEST_OUT_OF_SCOPE", "{err}");
    let huge = tmp.path().join("huge.json");
    std::fs::write(&huge, vec![b' '; 2 * 1024 * 1024]).expect("huge");
    let err = kit
        .issue_requests(&id, &[huge], &out, two_hours)
        .expect_err("huge");
    assert_eq!(err.code(), "FIELD_FILE_TOO_LARGE", "{err}");
    let err = kit
        .issue(&id, "not-a-fingerprint", two_hours)
        .expect_err("typo");
    assert!(err.code().starts_with("FINGERPRINT_"), "{}", err.code());
    let err = kit
        .issue("nope", &fingerprint(1), two_hours)
        .expect_err("unknown");
    assert_eq!(err.code(), "FIELD_ALLOTMENT_NOT_FOUND");
    assert_eq!(std::fs::read_dir(&out).expect("out").count(), 2);
    assert_eq!(kit.verify_ledger(&id).expect("chain").records, 2);

    // The key is a 0600 file and survives reopening; the mark persists.
    let kid = kit.delegate_key(&id).expect("key").kid().to_owned();
    drop(kit);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(kit_dir.join(format!("keys/{kid}.key")))
            .expect("key file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let mut kit = Kit::open(&kit_dir).expect("reopen");
    assert_eq!(kit.delegate_key(&id).expect("key").kid(), kid);
    refused(&mut kit, &id, &out, 1, t0(), "CLOCK_SET_BACK");
}

/// Issuing in the very second of the checkout (the server's `not_before`
/// has sub-seconds, licenses carry whole seconds) is not "expired".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issuing_in_the_second_of_the_checkout_is_valid() {
    let tmp = tempfile::tempdir().expect("tmp");
    let now = t0() + Duration::milliseconds(400);
    let server = Server::start(&tmp.path().join("server"), now).await;
    let token = server.account_with_order(3).await;
    let mut kit = Kit::open(&tmp.path().join("kit")).expect("kit");
    let a = checkout(&mut kit, &server.base, &token, &by_order(), 1, 7, now)
        .await
        .expect("checkout");
    server.stop().await;
    let issued = kit
        .issue(&a.allotment_id, &fingerprint(1), now)
        .expect("issued in the checkout's second");
    assert!(issued.issued_at >= a.not_before, "{issued:?} {a:?}");
    assert_eq!(issued.issued_at, t0() + Duration::seconds(1));
}
